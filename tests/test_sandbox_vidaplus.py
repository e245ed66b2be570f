"""The sandbox's vidaplus (the FastAPI app lRauane/SGHSS-VidaPlus and its published docs),
driven with plain requests."""

from __future__ import annotations

import re
import time

import jwt
import pytest
import requests

from vital_connect import sandbox

T = 5
FORM = {"username": sandbox.VIDAPLUS_USERNAME, "password": sandbox.VIDAPLUS_PASSWORD}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
INVALID = {"detail": "Could not validate credentials"}
# path -> (list key, the public schema's fields in order)
RESOURCES = {
    "pacientes": ("pacientes", ["id", "nome", "email", "telefone", "cpf", "data_nascimento",
                  "endereco", "complemento", "numero", "cep", "cidade", "bairro", "estado",
                  "tipo", "is_active", "is_superuser"]),
    "profissionais": ("profissionais", ["id", "nome", "email", "telefone", "especialidade",
                      "horario_atendimento", "crmCoren", "biografia", "tipo", "is_active",
                      "is_superuser"]),
    "consultas": ("consultas", ["id", "data", "hora", "paciente_id", "profissional_id",
                  "status", "tipoConsulta", "observacao"]),
    "prescricoes": ("prescricoes", ["id", "data", "paciente_id", "profissional_id",
                    "tipo_prescricao", "medicamentos", "observacao"]),
    "exames": ("exames", ["id", "paciente_id", "data", "tipo", "status", "resultado",
               "observacao"]),
    "prontuario": ("prontuarios", ["id", "paciente_id", "lista_consultas", "lista_prescricoes",
                   "lista_exames"]),
    "leitos": ("leitos", ["id", "numero_leito", "paciente_id", "tipo", "status"]),
    "estoque": ("estoques", ["id", "tipo_item", "nome", "quantidade", "unidade",
                "data_validade"]),
}  # fmt: skip
NOT_FOUND = {
    "pacientes": "User not found",
    "profissionais": "User not found",
    "consultas": "Consulta não encontrada.",
    "prescricoes": "Prescrição não encontrada.",
    "exames": "Exame não encontrado.",
    "prontuario": "Prontuário não encontrado.",
    "leitos": "Leito não encontrado.",
    "estoque": "Item de estoque não encontrado.",
}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def url(sb, path: str) -> str:
    return sb.base_url("vidaplus") + path


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(sb, **form) -> requests.Response:
    return requests.post(url(sb, "/auth/token/"), data=form or FORM, timeout=T)


def token(sb) -> str:
    r = login(sb)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def get(sb, path: str, tok: str | None = None, **params) -> requests.Response:
    headers = bearer(tok) if tok else {}
    return requests.get(url(sb, path), params=params, headers=headers, timeout=T)


def missing(field: str) -> dict:
    return {"type": "missing", "loc": ["body", field], "msg": "Field required", "input": None}


def int_parsing(where: str, field: str, raw: str) -> dict:
    msg = "Input should be a valid integer, unable to parse string as an integer"
    return {"type": "int_parsing", "loc": [where, field], "msg": msg, "input": raw}


# login


def test_token_is_a_jwt_of_only_sub_and_exp(sb):
    before = int(time.time())
    r = login(sb)
    issued = (before, int(time.time()))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert list(body) == ["access_token", "token_type"]
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(claims) == {"sub", "exp"}  # security.create_access_token: {"sub": email} + exp
    assert claims["sub"] == sandbox.VIDAPLUS_USERNAME
    assert claims["exp"] in range(issued[0] + 3600, issued[1] + 3601)  # now + the TTL


def test_optional_oauth2_form_fields_are_accepted(sb):
    r = login(
        sb, **FORM, grant_type="password", scope="me records", client_id="x", client_secret="y"
    )
    assert r.status_code == 200
    assert r.json()["token_type"] == "bearer"


def test_wrong_credentials_are_401_with_the_apps_own_detail(sb):
    for form in ({**FORM, "password": "wrong"}, {**FORM, "username": "nobody@x.test"}):
        r = login(sb, **form)
        assert r.status_code == 401
        assert r.json() == {"detail": "Incorrect email or password"}
        assert "WWW-Authenticate" not in r.headers  # the app's HTTPException sets none


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({}, ["username", "password"]),
        ({"username": sandbox.VIDAPLUS_USERNAME}, ["password"]),
        # FastAPI counts an empty form value as missing
        ({"username": sandbox.VIDAPLUS_USERNAME, "password": ""}, ["password"]),
    ],
)  # fmt: skip
def test_missing_fields_are_422_in_fastapi_shape(sb, form, fields):
    r = requests.post(url(sb, "/auth/token/"), data=form, timeout=T)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(f) for f in fields]}


def test_a_json_body_leaves_the_form_fields_missing(sb):
    r = requests.post(url(sb, "/auth/token/"), json=FORM, timeout=T)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing("username"), missing("password")]}


def test_grant_type_other_than_password_is_422(sb):
    r = login(sb, **FORM, grant_type="client_credentials")
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["type"] == "string_pattern_mismatch"
    assert error["loc"] == ["body", "grant_type"]
    assert error["input"] == "client_credentials"
    assert set(error) == {"type", "loc", "msg", "input", "ctx"}


# refresh


def test_refresh_token_endpoint_renews_a_still_valid_token(sb):
    old = token(sb)
    time.sleep(1.05)  # a token issued in the same second would be the very same JWT
    r = requests.post(url(sb, "/auth/token/refresh_token"), headers=bearer(old), timeout=T)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["access_token", "token_type"] and body["token_type"] == "bearer"
    new = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert new["sub"] == sandbox.VIDAPLUS_USERNAME
    assert new["exp"] > jwt.decode(old, options={"verify_signature": False})["exp"]
    assert get(sb, "/pacientes/", body["access_token"], limit=1).status_code == 200
    sent = sb.requests[-2]
    assert (sent.method, sent.path, sent.body) == ("POST", "/vidaplus/auth/token/refresh_token", "")
    assert sent.headers["Authorization"] == "Bearer ***"


def test_refresh_refuses_no_token_a_forged_one_and_an_expired_one(sb):
    endpoint = url(sb, "/auth/token/refresh_token")
    r = requests.post(endpoint, timeout=T)
    assert (r.status_code, r.json()) == (401, NOT_AUTHENTICATED)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = requests.post(endpoint, headers=bearer("forged.token.value"), timeout=T)
    assert (r.status_code, r.json()) == (401, INVALID)
    sb.token_ttl = 1
    old = token(sb)
    time.sleep(1.1)
    r = requests.post(endpoint, headers=bearer(old), timeout=T)
    assert (r.status_code, r.json()) == (401, INVALID)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert get(sb, "/pacientes/", old).status_code == 401  # and nothing else takes it


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/auth/refresh/"), ("GET", "/users/me/"), ("GET", "/records/")],
)
def test_invented_endpoints_are_gone(sb, method, path):
    r = requests.request(method, url(sb, path), headers=bearer(token(sb)), timeout=T)
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})


# resources


@pytest.mark.parametrize("path", list(RESOURCES))
def test_each_resource_lists_its_schema_under_its_key(sb, path):
    key, fields = RESOURCES[path]
    r = get(sb, f"/{path}/", token(sb), limit=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert list(body) == [key]  # no count, no next link
    rows = body[key]
    assert len(rows) == 5
    assert all(list(row) == fields for row in rows)
    assert len({row["id"] for row in rows}) == 5
    one = get(sb, f"/{path}/{rows[2]['id']}", token(sb))
    assert one.status_code == 200 and one.json() == rows[2]


@pytest.mark.parametrize("path", list(RESOURCES))
def test_resources_need_the_bearer_token_before_anything_else(sb, path):
    assert (get(sb, f"/{path}/").status_code, get(sb, f"/{path}/").json()) == (
        401,
        NOT_AUTHENTICATED,
    )
    r = get(sb, f"/{path}/", offset="abc")  # authentication comes before validation
    assert (r.status_code, r.json()) == (401, NOT_AUTHENTICATED)
    r = get(sb, f"/{path}/1", "forged.token.value")
    assert (r.status_code, r.json()) == (401, INVALID)


def test_pacientes_page_by_offset_and_limit_to_a_short_last_page(sb):
    tok = token(sb)
    sizes, ids, offset = [], [], 0
    while True:
        page = get(sb, "/pacientes/", tok, offset=offset).json()["pacientes"]
        sizes.append(len(page))
        ids += [p["id"] for p in page]
        if len(page) < 100:  # the default limit: the short page is the last
            break
        offset += len(page)
    assert sizes == [100, 100, 50]
    assert len(ids) == len(set(ids)) == 250
    assert ids == sorted(ids)
    assert get(sb, "/pacientes/", tok, offset=250).json() == {"pacientes": []}
    assert len(get(sb, "/pacientes/", tok, limit=1000).json()["pacientes"]) == 250  # no cap
    # plain ints, SQLite semantics: a negative offset is 0, a negative limit is no limit
    assert get(sb, "/pacientes/", tok, offset=-5, limit=3).json()["pacientes"][0]["id"] == ids[0]
    assert len(get(sb, "/pacientes/", tok, limit=-1).json()["pacientes"]) == 250
    assert get(sb, "/pacientes/", tok, limit=0).json() == {"pacientes": []}
    assert get(sb, "/pacientes/", tok, unknown="x", limit=2).status_code == 200


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"offset": "abc"}, int_parsing("query", "offset", "abc")),
        ({"limit": "1.5"}, int_parsing("query", "limit", "1.5")),
        ({"limit": ""}, int_parsing("query", "limit", "")),
    ],
)
def test_a_bad_query_value_is_a_fastapi_422(sb, params, error):
    r = get(sb, "/consultas/", token(sb), **params)
    assert r.status_code == 422
    assert r.json() == {"detail": [error]}


def test_one_object_404_and_422_per_resource(sb):
    tok = token(sb)
    for path, detail in NOT_FOUND.items():
        r = get(sb, f"/{path}/999999", tok)
        assert (r.status_code, r.json()) == (404, {"detail": detail}), path
    r = get(sb, "/exames/abc", tok)
    assert (r.status_code, r.json()) == (422, {"detail": [int_parsing("path", "exame_id", "abc")]})
    r = get(sb, "/pacientes/x", tok)
    assert r.json()["detail"][0]["loc"] == ["path", "user_id"]
    # the users share one table: a profissional's id is no paciente's
    prof = get(sb, "/profissionais/", tok, limit=1).json()["profissionais"][0]
    assert get(sb, f"/pacientes/{prof['id']}", tok).json() == {"detail": "User not found"}
    # Starlette writes UTF-8 as is
    assert "Prontuário".encode() in get(sb, "/prontuario/999999", tok).content


def test_prontuario_answers_an_empty_page_with_404(sb):
    tok = token(sb)
    r = get(sb, "/prontuario/", tok, offset=250)
    assert (r.status_code, r.json()) == (404, {"detail": "Nenhum prontuário encontrado."})
    assert len(get(sb, "/prontuario/", tok, offset=240).json()["prontuarios"]) == 10


def test_records_refer_to_each_other_and_serialise_as_fastapi_would(sb):
    tok = token(sb)
    pacientes = {p["id"]: p for p in get(sb, "/pacientes/", tok, limit=-1).json()["pacientes"]}
    profs = {p["id"] for p in get(sb, "/profissionais/", tok, limit=-1).json()["profissionais"]}
    consultas = get(sb, "/consultas/", tok, limit=-1).json()["consultas"]
    assert len(consultas) == 600
    assert all(c["paciente_id"] in pacientes and c["profissional_id"] in profs for c in consultas)
    dates = [c["data"] for c in consultas]
    assert dates == sorted(dates, reverse=True)  # ORDER BY data DESC
    assert all(DATE.fullmatch(d) for d in dates)
    assert all(re.fullmatch(r"\d{2}:\d{2}:\d{2}", c["hora"]) for c in consultas)
    assert all(DATE.fullmatch(p["data_nascimento"]) for p in pacientes.values())
    prontuario = get(sb, "/prontuario/3", tok).json()
    own = [c for c in consultas if c["paciente_id"] == prontuario["paciente_id"]]
    assert sorted(c["id"] for c in prontuario["lista_consultas"]) == sorted(c["id"] for c in own)
    for leito in get(sb, "/leitos/", tok, limit=-1).json()["leitos"]:
        assert (leito["paciente_id"] is None) == (leito["status"] != "Ocupado")
    statuses = {c["status"] for c in consultas}
    assert statuses <= {"Agendada", "Realizada", "Cancelada", "Não Compareceu", "Reagendada",
                        "Pendente"}  # fmt: skip


def test_sizes_follow_rows(sb):
    tok = token(sb)
    sb.rows.update({"pacientes": 30, "estoques": 7, "prontuarios": 500})
    assert len(get(sb, "/pacientes/", tok).json()["pacientes"]) == 30
    assert len(get(sb, "/estoque/", tok).json()["estoques"]) == 7
    assert len(get(sb, "/prontuario/", tok, limit=-1).json()["prontuarios"]) == 30  # one each


def test_a_vitalera_token_is_refused(sb):
    body = {
        "grant_type": "client_credentials",
        "client_id": sandbox.VITALERA_CLIENT_ID,
        "client_secret": sandbox.VITALERA_CLIENT_SECRET,
    }
    foreign = requests.post(sb.base_url("vitalera") + "/api/auth/tokens/", json=body, timeout=T)
    r = get(sb, "/pacientes/", foreign.json()["access_token"])
    assert (r.status_code, r.json()) == (401, INVALID)


def test_unknown_path_is_fastapi_404(sb):
    r = requests.get(url(sb, "/nothing/"), timeout=T)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
