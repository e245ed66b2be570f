"""Dialects: what each provider does differently from RFC 6749, one module per provider.

``rfc6749`` is the default (and the base class, :class:`Dialect`); ``vitalera``,
``vidaplus`` and ``vitaldb`` hold every quirk of those providers. Give your own provider
a dialect by subclassing :class:`Dialect` and overriding only what differs::

    from vital_connect.dialects import Dialect

    class MyLab(Dialect):
        name = "mylab"
        def placement(self, provider, path):
            return None if path.startswith("/public/") else "header"

    vc.register_provider(vc.Provider(name="mylab", ..., dialect=MyLab()))
"""

from __future__ import annotations

from . import rfc6749, vidaplus, vitaldb, vitalera
from .rfc6749 import RFC6749, Dialect, Json

__all__ = ["RFC6749", "Dialect", "Json", "rfc6749", "vidaplus", "vitaldb", "vitalera"]
