"""Every word the login panel shows a person, in English and Dutch.

The vitalera documentation exists in both languages (seeds 000 and 001), so the panel does
too. ``text(lang, key, **values)`` formats one message; a test keeps the two tables' keys
equal and every Dutch text different from its English one.
"""

from __future__ import annotations

from ._errors import ConfigurationError

EN: dict[str, str] = {
    # headings and pickers
    "title": "Log in to {provider} ({where})",
    "title_done": "Logged in to {provider} ({where})",
    "where_sandbox": "sandbox at {host}",
    "provider": "Provider",
    "choose": "Choose…",
    "grant": "Log in with",
    "grant_client_credentials": "Application (client ID and secret)",
    "grant_password": "Username and password",
    "grant_authorization_code": "Sign-in page in the browser",
    # fields
    "field_client_id": "Client ID",
    "field_client_secret": "Client secret",
    "field_username": "Username",
    "field_password": "Password",
    "field_redirect_uri": "Redirect address",
    "field_paste": "Address after sign-in",
    "configured": "(configured: leave empty to use it)",
    "paste_placeholder": "Paste the address here, then press Enter",
    # buttons
    "login": "Log in",
    "continue": "Continue",
    "cancel": "Cancel",
    "logout": "Log out",
    "switch": "Switch account",
    "complete": "Complete login",
    # the code flow
    "signin": "Sign in with {provider}",
    "hint_listening": (
        "The sign-in page opens in a new tab. After you sign in there, this panel "
        "completes the login by itself. If it does not, paste the address you land on below."
    ),
    "hint_paste": (
        "The sign-in page opens in a new tab. After you sign in there, copy the whole "
        "address from the browser's address bar and paste it below."
    ),
    "hint_proxy": "Waiting for the sign-in to come back through {path}.",
    "listen_failed": "Could not wait for the sign-in at {address} ({reason}).",
    "countdown": "A code from this link lasts {lifetime}: {left} left.",
    "link_renewed": "The time is up, so the link was renewed: click it again to sign in.",
    # status lines
    "status_choose": "Choose a provider to log in to.",
    "status_fill": "Fill in the fields, then press Enter or click “Log in”.",
    "status_fill_code": "Fill in the fields, then press Enter or click “Continue”.",
    "status_signin": "Click the link to sign in.",
    "busy": "Logging in to {provider} ({where})…",
    "logged_in": "Logged in to {provider} ({where}) as {who} until {until}.",
    "logged_in_no_expiry": (
        "Logged in to {provider} ({where}) as {who} (the login has no end time)."
    ),
    "logged_out": "Logged out of {provider}.",
    "switching": "Still logged in as {who}. Log in as someone else, or click “Cancel”.",
    "cancelled": "Login cancelled.",
    "timed_out": "Nobody logged in within {duration}: this panel stopped waiting.",
    # the page the one-shot server shows in the browser tab
    "page_title": "vital_connect login",
    "page_ok": "You are logged in to {provider}. You can close this tab and go back to "
    "the notebook.",
    "page_failed": "The login did not work: {reason} Go back to the notebook and try again.",
    # errors, in plain words
    "err_missing": "Fill in: {fields}.",
    "err_wrong_password": (
        "{provider} refused the login: the username or password is wrong. Check them and try again."
    ),
    "err_wrong_client": (
        "{provider} refused the login: the client ID or client secret is wrong. Check them "
        "and try again."
    ),
    "err_refused": "{provider} refused the login. Sign in again.",
    "err_fields": "{provider} did not accept these fields: {fields}. Correct them and try again.",
    "err_fields_unknown": (
        "{provider} did not accept the request (HTTP 422). Check the fields and try again."
    ),
    "err_down": (
        "Cannot reach {provider} at {url}: the server may be down, or the address is wrong. "
        "Try again later."
    ),
    "err_timeout": "{provider} did not answer in time. Try again later.",
    "err_server": "{provider} answered with an error (HTTP {status}). Try again later.",
    "err_state": (
        "That address belongs to an older sign-in, or was already used. Use the new link above."
    ),
    "err_no_code": "That address has no login code in it. Paste the whole address.",
    "err_paste_empty": "Paste the address first.",
    "err_insecure": "Refused to send anything over plain http to {url}: use an https address.",
    "err_other": "The login did not work: {detail}",
    "err_unexpected": (
        "Something unexpected went wrong ({kind}). Try again; if it keeps happening, please "
        "report it."
    ),
    # errors raised to the code that waited for the panel
    "raise_cancelled": (
        "The login to {provider} was cancelled in the panel. Run the cell again to log in, or "
        "set {variables} in the environment or a .env file to log in without the panel."
    ),
    "raise_timeout": (
        "Nobody logged in to {provider} within {duration}. Run the cell again to log in, or "
        "set {variables} in the environment or a .env file to log in without the panel."
    ),
    # units
    "minutes": "{n} minutes",
    "seconds": "{n} seconds",
    "and": " and ",
}

NL: dict[str, str] = {
    "title": "Inloggen bij {provider} ({where})",
    "title_done": "Ingelogd bij {provider} ({where})",
    "where_sandbox": "sandbox op {host}",
    "provider": "Aanbieder",
    "choose": "Kies…",
    "grant": "Inloggen met",
    "grant_client_credentials": "Applicatie (client-ID en clientgeheim)",
    "grant_password": "Gebruikersnaam en wachtwoord",
    "grant_authorization_code": "Aanmeldpagina in de browser",
    "field_client_id": "Client-ID",
    "field_client_secret": "Clientgeheim",
    "field_username": "Gebruikersnaam",
    "field_password": "Wachtwoord",
    "field_redirect_uri": "Terugstuuradres",
    "field_paste": "Adres na aanmelden",
    "configured": "(ingesteld: laat leeg om dat te gebruiken)",
    "paste_placeholder": "Plak hier het adres en druk op Enter",
    "login": "Inloggen",
    "continue": "Verder",
    "cancel": "Annuleren",
    "logout": "Uitloggen",
    "switch": "Ander account",
    "complete": "Inloggen voltooien",
    "signin": "Aanmelden bij {provider}",
    "hint_listening": (
        "De aanmeldpagina opent in een nieuw tabblad. Zodra u zich daar hebt aangemeld, "
        "rondt dit paneel het inloggen zelf af. Gebeurt dat niet, plak dan hieronder het "
        "adres waar u uitkomt."
    ),
    "hint_paste": (
        "De aanmeldpagina opent in een nieuw tabblad. Kopieer na het aanmelden het hele adres "
        "uit de adresbalk van de browser en plak het hieronder."
    ),
    "hint_proxy": "Wacht op de terugkeer van de aanmelding via {path}.",
    "listen_failed": "Kon niet wachten op de aanmelding op {address} ({reason}).",
    "countdown": "Een code van deze link is {lifetime} geldig: nog {left}.",
    "link_renewed": "De tijd is om, dus de link is vernieuwd: klik er opnieuw op om aan te melden.",
    "status_choose": "Kies een aanbieder om bij in te loggen.",
    "status_fill": "Vul de velden in en druk op Enter of klik op “Inloggen”.",
    "status_fill_code": "Vul de velden in en druk op Enter of klik op “Verder”.",
    "status_signin": "Klik op de link om aan te melden.",
    "busy": "Bezig met inloggen bij {provider} ({where})…",
    "logged_in": "Ingelogd bij {provider} ({where}) als {who} tot {until}.",
    "logged_in_no_expiry": (
        "Ingelogd bij {provider} ({where}) als {who} (het inloggen heeft geen eindtijd)."
    ),
    "logged_out": "Uitgelogd bij {provider}.",
    "switching": "Nog ingelogd als {who}. Log in als iemand anders, of klik op “Annuleren”.",
    "cancelled": "Inloggen geannuleerd.",
    "timed_out": "Niemand heeft binnen {duration} ingelogd: dit paneel wacht niet meer.",
    "page_title": "vital_connect inloggen",
    "page_ok": "U bent ingelogd bij {provider}. U kunt dit tabblad sluiten en teruggaan naar "
    "het notebook.",
    "page_failed": "Het inloggen is niet gelukt: {reason} Ga terug naar het notebook en probeer "
    "het opnieuw.",
    "err_missing": "Vul in: {fields}.",
    "err_wrong_password": (
        "{provider} weigerde het inloggen: de gebruikersnaam of het wachtwoord klopt niet. "
        "Controleer ze en probeer het opnieuw."
    ),
    "err_wrong_client": (
        "{provider} weigerde het inloggen: de client-ID of het clientgeheim klopt niet. "
        "Controleer ze en probeer het opnieuw."
    ),
    "err_refused": "{provider} weigerde het inloggen. Meld u opnieuw aan.",
    "err_fields": (
        "{provider} accepteerde deze velden niet: {fields}. Verbeter ze en probeer het opnieuw."
    ),
    "err_fields_unknown": (
        "{provider} accepteerde het verzoek niet (HTTP 422). Controleer de velden en probeer "
        "het opnieuw."
    ),
    "err_down": (
        "{provider} is niet bereikbaar op {url}: de server is misschien uit de lucht, of het "
        "adres klopt niet. Probeer het later opnieuw."
    ),
    "err_timeout": "{provider} antwoordde niet op tijd. Probeer het later opnieuw.",
    "err_server": "{provider} antwoordde met een fout (HTTP {status}). Probeer het later opnieuw.",
    "err_state": (
        "Dat adres hoort bij een eerdere aanmelding, of is al gebruikt. Gebruik de nieuwe link "
        "hierboven."
    ),
    "err_no_code": "In dat adres staat geen inlogcode. Plak het hele adres.",
    "err_paste_empty": "Plak eerst het adres.",
    "err_insecure": "Niets verstuurd over onbeveiligd http naar {url}: gebruik een https-adres.",
    "err_other": "Het inloggen is niet gelukt: {detail}",
    "err_unexpected": (
        "Er ging onverwacht iets mis ({kind}). Probeer het opnieuw; blijft het gebeuren, "
        "meld het dan."
    ),
    "raise_cancelled": (
        "Het inloggen bij {provider} is in het paneel geannuleerd. Voer de cel opnieuw uit om "
        "in te loggen, of zet {variables} in de omgeving of een .env-bestand om zonder paneel "
        "in te loggen."
    ),
    "raise_timeout": (
        "Niemand heeft binnen {duration} ingelogd bij {provider}. Voer de cel opnieuw uit om "
        "in te loggen, of zet {variables} in de omgeving of een .env-bestand om zonder paneel "
        "in te loggen."
    ),
    "minutes": "{n} minuten",
    "seconds": "{n} seconden",
    "and": " en ",
}

TABLES: dict[str, dict[str, str]] = {"en": EN, "nl": NL}


def text(lang: str, key: str, **values: object) -> str:
    """One message in ``lang`` ("en" or "nl"), with ``values`` filled in."""
    table = TABLES.get(lang, EN)
    return table[key].format(**values)


def duration(lang: str, seconds: float) -> str:
    """``10 minutes`` / ``10 minuten``; under a minute in seconds."""
    if seconds >= 60:
        return text(lang, "minutes", n=f"{seconds / 60:g}")
    return text(lang, "seconds", n=f"{seconds:g}")


def clock(seconds: float) -> str:
    """``2:59`` for a countdown (the same in both languages)."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


LANGS = ("en", "nl")


def default_lang() -> str:
    """``nl`` when the locale is Dutch, else ``en``."""
    import locale
    import os

    for value in (os.environ.get("LC_ALL"), os.environ.get("LANG"), locale.getlocale()[0]):
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    return "en"


def check_lang(lang: object) -> str:
    """A language code the panel speaks, from ``None`` (the locale), ``"en"``, ``"NL"``…"""
    if lang is None:
        return default_lang()
    code = str(lang).lower()[:2]
    if code not in LANGS or len(str(lang)) > 16:
        raise ConfigurationError(f"lang must be one of {LANGS}, got {lang!r}")
    return code
