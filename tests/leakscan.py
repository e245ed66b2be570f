"""What an exception lets a user see, for the tests that scan it for secrets. Not a test
module."""

from __future__ import annotations

import traceback


def reachable_texts(exc: BaseException, own_file: str, *, printed: bool = True) -> list[str]:
    """The error as printed (unless ``printed=False``: a printed traceback quotes the
    calling test's source lines, which may spell its seeded secrets), and all it keeps
    reachable: its chain (causes and contexts) and the locals of every frame of every
    traceback in it, as ``%xmode Verbose`` or a debugger shows them. Frames of
    ``own_file`` (the calling test's own variables) are left out; a repr that fails is
    no leak."""
    texts = [str(exc), repr(exc)]
    if printed:
        texts.append("".join(traceback.format_exception(exc)))
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        texts += [str(e), repr(e)]
        tb = e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename != own_file:
                for name, value in tb.tb_frame.f_locals.items():
                    try:
                        texts.append(f"{name}={value!r}")
                    except Exception:  # a repr that fails is no leak
                        pass
            tb = tb.tb_next
        stack += [x for x in (e.__cause__, e.__context__) if x is not None]
    return texts
