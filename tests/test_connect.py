"""connect(): credential sources, grant inference, errors that say what to do."""

from __future__ import annotations

import pytest

import vital_connect as vc


def test_explicit_arguments_log_in_with_client_credentials(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    assert s.grant == "client_credentials"
    assert s.is_authenticated
    assert s.token.token_type == "Bearer"
    assert s.token.expires_at is not None


def test_provider_name_is_case_insensitive(sb):
    s = vc.connect("VitalEra", cache=False, **sb.credentials("vitalera"))
    assert s.provider.name == "vitalera"


def test_environment_is_read(sb, monkeypatch):
    creds = sb.credentials("vidaplus")
    monkeypatch.setenv("VIDAPLUS_BASE_URL", creds["base_url"])
    monkeypatch.setenv("VIDAPLUS_USERNAME", creds["username"])
    monkeypatch.setenv("VIDAPLUS_PASSWORD", creds["password"])
    s = vc.connect("vidaplus", cache=False)
    assert s.grant == "password"
    assert s.token.sub == creds["username"]


def test_dotenv_file_is_read_from_the_working_directory(sb, isolated_user):
    creds = sb.credentials("vitalera", grant="password")
    (isolated_user / ".env").write_text(
        f"VITALERA_BASE_URL={creds['base_url']}\n"
        f"VITALERA_USERNAME={creds['username']}\n"
        f"VITALERA_PASSWORD={creds['password']}\n"
    )
    s = vc.connect("vitalera", cache=False)
    assert s.grant == "password"
    assert s.token.refresh_token


def test_precedence_argument_over_environment_over_dotenv(sb, isolated_user, monkeypatch):
    creds = sb.credentials("vidaplus")
    (isolated_user / ".env").write_text(
        f"VIDAPLUS_BASE_URL={creds['base_url']}\nVIDAPLUS_USERNAME=dotenv@x.test\n"
        "VIDAPLUS_PASSWORD=from-dotenv\n"
    )
    monkeypatch.setenv("VIDAPLUS_USERNAME", creds["username"])
    monkeypatch.setenv("VIDAPLUS_PASSWORD", "from-environment")
    # the environment beats .env: its wrong password is used and refused
    with pytest.raises(vc.AuthenticationError):
        vc.connect("vidaplus", cache=False)
    # an argument beats both
    s = vc.connect("vidaplus", cache=False, password=creds["password"])
    assert s.token.sub == creds["username"]


def test_named_env_file(sb, tmp_path):
    creds = sb.credentials("vidaplus")
    env = tmp_path / "elsewhere.env"
    env.write_text(
        f"VIDAPLUS_BASE_URL={creds['base_url']}\nVIDAPLUS_USERNAME={creds['username']}\n"
        f"VIDAPLUS_PASSWORD={creds['password']}\n"
    )
    s = vc.connect("vidaplus", cache=False, env_file=env)
    assert s.is_authenticated


def test_missing_env_file_says_so(tmp_path):
    with pytest.raises(vc.MissingCredentialsError, match="does not exist"):
        vc.connect("vidaplus", env_file=tmp_path / "nope.env")


def test_missing_credentials_name_the_exact_variables():
    with pytest.raises(vc.MissingCredentialsError) as info:
        vc.connect("vitalera", widget=False)
    err = info.value
    assert set(err.variables) == {
        "VITALERA_CLIENT_ID",
        "VITALERA_CLIENT_SECRET",
        "VITALERA_USERNAME",
        "VITALERA_PASSWORD",
    }
    for name in err.variables:
        assert name in str(err)


def test_missing_credentials_for_a_chosen_grant():
    with pytest.raises(vc.MissingCredentialsError) as info:
        vc.connect("vitalera", grant="password", username="someone", widget=False)
    assert info.value.variables == ["VITALERA_PASSWORD"]


def test_unknown_provider_lists_known_names():
    with pytest.raises(vc.UnknownProviderError) as info:
        vc.connect("vitalerra")
    assert isinstance(info.value, ValueError)
    assert {"vitalera", "vidaplus", "vitaldb"} <= set(info.value.known)
    assert "vitalera" in str(info.value)


def test_grant_the_provider_lacks_is_refused(sb):
    with pytest.raises(vc.NotSupportedError, match="offers: password"):
        vc.connect("vidaplus", grant="client_credentials", **sb.credentials("vidaplus"))


def test_wrong_password_is_an_authentication_error_naming_the_variables(sb):
    creds = sb.credentials("vitalera", grant="password") | {"password": "wrong-password-123"}
    with pytest.raises(vc.AuthenticationError) as info:
        vc.connect("vitalera", cache=False, **creds)
    assert info.value.status_code == 401
    assert "VITALERA_USERNAME" in str(info.value)
    assert "wrong-password-123" not in str(info.value) + repr(info.value)


def test_plain_http_to_a_remote_host_is_refused_before_sending():
    with pytest.raises(vc.InsecureTransportError, match="https"):
        vc.connect("vidaplus", base_url="http://api.example.org", username="a", password="b")


def test_login_again_with_other_credentials_switches_grant(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    first = s.token
    user = sb.credentials("vitalera", grant="password")
    tok = s.login(username=user["username"], password=user["password"])
    assert s.grant == "password"
    assert tok.refresh_token and tok.access_token != first.access_token


def test_login_rejects_unknown_fields(sb):
    s = vc.connect("vitalera", cache=False, **sb.credentials("vitalera"))
    with pytest.raises(vc.ConfigurationError, match="unexpected fields"):
        s.login(user="x")


def test_timeout_is_normalised_and_validated(sb):
    s = vc.connect("vitalera", cache=False, timeout=5, **sb.credentials("vitalera"))
    assert s.timeout == (5.0, 5.0)
    with pytest.raises(ValueError):
        vc.connect("vitalera", cache=False, timeout=-1, **sb.credentials("vitalera"))


def test_lang_is_checked():
    with pytest.raises(ValueError, match="lang"):
        vc.connect("vitaldb", anonymous=True, lang="fr")
    assert vc.connect("vitaldb", anonymous=True, lang="nl").lang == "nl"


def test_providers_table_and_registering_a_provider_from_data(sb):
    table = vc.providers()
    assert {"name", "grants", "base_url", "token_url"} <= set(table.columns)
    assert set(table["name"]) >= {"vitalera", "vidaplus", "vitaldb"}
    # a provider of one's own, from data alone: the sandbox's vidaplus speaks plain OAuth2 form
    mine = vc.Provider(
        name="mylab",
        base_url=sb.base_url("vidaplus"),
        grants=("password",),
        token_path="/auth/token/",
    )
    vc.register_provider(mine)
    creds = sb.credentials("vidaplus")
    s = vc.connect("mylab", cache=False, username=creds["username"], password=creds["password"])
    assert len(s.get_json("/pacientes/", {"limit": 5})["pacientes"]) == 5
    assert "mylab" in set(vc.providers()["name"])


def test_provider_validates_its_data():
    with pytest.raises(ValueError, match="grants"):
        vc.Provider(name="x", base_url="https://x.test", grants=("implicit",), token_path="/t")
    with pytest.raises(ValueError, match="login_path"):
        vc.Provider(
            name="x", base_url="https://x.test", grants=("authorization_code",), token_path="/t"
        )


def test_connect_takes_exactly_the_options():
    """connect()'s keyword arguments are Options' fields: the options are typed once, and
    the panel and the CLI take the same."""
    import dataclasses
    import inspect

    from vital_connect._options import Options

    params = inspect.signature(vc.connect).parameters
    assert list(params)[1:] == [f.name for f in dataclasses.fields(Options)]
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "provider")
    with pytest.raises(vc.ConfigurationError, match=r"Unknown option.*paswsord"):
        vc.login_panel("vidaplus", paswsord="x")


def test_the_env_file_is_read_once_per_login(sb, isolated_user, monkeypatch):
    """Credentials are read once per connect() and per renewal that runs the grant again;
    never for a renewal by refresh token, nor on every request."""
    from vital_connect import _credentials

    creds = sb.credentials("vitalera", grant="password")
    (isolated_user / ".env").write_text(
        "".join(f"VITALERA_{k.upper()}={v}\n" for k, v in creds.items() if k != "grant")
    )
    reads = []
    real = _credentials.read_dotenv
    monkeypatch.setattr(_credentials, "read_dotenv", lambda path: reads.append(path) or real(path))
    s = vc.connect("vitalera", cache=False)
    assert len(reads) == 1
    for _ in range(3):
        s.get_json("/api/plans/")
    s.refresh()  # a refresh token: no credentials needed
    assert len(reads) == 1
    s.auth.set_token(vc.Token(access_token=s.token.access_token), save=False)  # none left
    sb.fail_next(1, 401, path="/vitalera/api/plans/")
    s.get_json("/api/plans/")  # the 401 is answered by the password grant again
    assert len(reads) == 2
