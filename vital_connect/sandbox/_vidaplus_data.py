"""vidaplus' records, synthesised in the shapes of lRauane/SGHSS-VidaPlus's public schemas
(``vidaplus/schemas/*_schema.py``: PacienteUserPublic, ProfissionalUserPublic,
ConsultaSchemaPublic, PrescricaoSchemaPublic, ExameSchemaPublic, ProntuarioSchemaPublic,
LeitosSchemaPublic, EstoqueSchemaPublic), field for field and in their order, with enum
values from ``vidaplus/utils/*choices.py``. Dates are ``YYYY-MM-DD`` and times ``HH:MM:SS``,
as pydantic v2 serialises ``date`` and ``time``. Nothing here is real patient data.

Ids: the app's users share one table (joined inheritance), so the admin is 1, the
profissionais follow and then the pacientes; other tables count from 1.
"""

from __future__ import annotations

from datetime import date, timedelta

from . import _accounts as acc
from ._synthetic import pick, unit

# The sandbox's user: an ADMIN, a superuser, so every list holds every row (for anyone else
# the app filters each page after offset/limit, and pages come back short or empty).
ADMIN = {
    "id": 1,
    "nome": acc.VIDAPLUS_FULL_NAME,
    "email": acc.VIDAPLUS_USERNAME,
    "tipo": "ADMIN",
    "is_active": True,
    "is_superuser": True,
}

_FIRST = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Isabela",
          "João", "Larissa", "Marcos", "Natália", "Otávio", "Patrícia", "Rafael", "Sofia",
          "Tiago", "Vitória", "Wagner")  # fmt: skip
_LAST = ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira", "Costa",
         "Rodrigues", "Almeida", "Nascimento", "Carvalho", "Gomes", "Ribeiro",
         "Martins")  # fmt: skip
_PLACES = (("São Paulo", "SP"), ("Rio de Janeiro", "RJ"), ("Belo Horizonte", "MG"),
           ("Curitiba", "PR"), ("Salvador", "BA"), ("Recife", "PE"), ("Porto Alegre", "RS"),
           ("Fortaleza", "CE"))  # fmt: skip
_STREETS = ("Rua das Flores", "Avenida Paulista", "Rua XV de Novembro", "Rua da Aurora",
            "Avenida Atlântica", "Rua Augusta", "Rua do Comércio")  # fmt: skip
_BAIRROS = ("Centro", "Jardim América", "Boa Vista", "Vila Nova", "Santa Cecília", "Liberdade")
ESPECIALIDADES = ("Clinica Geral", "Dermatologia", "Ginecologia", "Ortopedia", "Pediatria",
                  "Psiquiatria", "Psicologia", "Nutrição", "Fisioterapia",
                  "Odontologia")  # fmt: skip
HORARIOS = ("Manhã (08:00 - 12:00)", "Tarde (13:00 - 18:00)", "Noite (18:00 - 22:00)",
            "Integral (08:00 - 22:00)", "Plantão (12h)", "Plantão (24h)")  # fmt: skip
STATUS_CONSULTA = ("Agendada", "Realizada", "Cancelada", "Não Compareceu", "Reagendada",
                   "Pendente")  # fmt: skip
TIPO_CONSULTA = ("Teleconsulta", "Presencial")
TIPO_PRESCRICAO = ("Medicação Contínua", "Medicação Temporária", "Antibiótico", "Analgesico",
                   "Receita Especial")  # fmt: skip
TIPO_EXAME = ("Hemograma", "Raio-X", "Ultrassom", "Tomografia", "Ressonância",
              "Eletrocardiograma", "Glicemia", "Colesterol")  # fmt: skip
STATUS_EXAME = ("Aguardando", "Realizado", "Concluído", "Cancelado")
TIPO_LEITO = ("UTI", "Enfermaria", "Emergência", "Isolamento", "Semi-Intensivo", "Pediátrico",
              "Neonatal", "Psiquiátrico")  # fmt: skip
STATUS_LEITO = ("Ocupado", "Livre", "Reservado", "Em Manutenção")
TIPO_ITEM = ("Medicamento", "Insumo", "Equipamento")
_MEDICAMENTOS = ("Paracetamol 750 mg", "Dipirona 500 mg", "Amoxicilina 500 mg",
                 "Losartana 50 mg", "Metformina 850 mg", "Omeprazol 20 mg",
                 "Ibuprofeno 400 mg", "Sinvastatina 20 mg")  # fmt: skip
_ESTOQUE = (("Medicamento", "Paracetamol", "mg"), ("Medicamento", "Dipirona", "mL"),
            ("Medicamento", "Soro fisiológico 0,9%", "mL"), ("Insumo", "Luva de procedimento",
            "caixa"), ("Insumo", "Seringa 10 mL", "unidade"), ("Insumo", "Gaze estéril",
            "pacote"), ("Equipamento", "Oxímetro de pulso", "unidade"),
            ("Equipamento", "Monitor multiparamétrico", "unidade"))  # fmt: skip
_TODAY = date(2025, 6, 30)  # the newest consulta, prescricao and exame


def _name(salt: str, i: int) -> str:
    return f"{pick(_FIRST, salt + 'f', i)} {pick(_LAST, salt + 'l', i)} {pick(_LAST, salt, i)}"


def _email(nome: str, uid: int, domain: str) -> str:
    first = nome.split()[0].lower().translate(str.maketrans("áéíóúâêôãõç", "aeiouaeoaoc"))
    return f"{first}.{uid}@{domain}"


def _phone(salt: str, i: int) -> str:
    return f"11{9_0000_0000 + int(unit(salt, i) * 9999_9999):09d}"


def profissional_id(j: int) -> int:
    return 2 + j  # after the admin


def paciente_id(i: int, profissionais: int) -> int:
    return 2 + profissionais + i


def paciente(i: int, profissionais: int) -> dict:
    uid = paciente_id(i, profissionais)
    nome = _name("pac", i)
    cidade, estado = pick(_PLACES, "place", i)
    born = date(1940, 1, 1) + timedelta(days=int(unit("born", i) * 365.25 * 65))
    return {
        "id": uid,
        "nome": nome,
        "email": _email(nome, uid, "pacientes.vidaplus.sandbox.test"),
        "telefone": _phone("pactel", i),
        "cpf": f"{int(unit('cpf', i) * 1e9):09d}{i % 100:02d}",
        "data_nascimento": born.isoformat(),
        "endereco": pick(_STREETS, "street", i),
        "complemento": None if unit("compl", i) < 0.4 else f"Apto {100 + i % 900}",
        "numero": 1 + int(unit("num", i) * 2000),
        "cep": f"{int(unit('cep', i) * 1e8):08d}",
        "cidade": cidade,
        "bairro": pick(_BAIRROS, "bairro", i),
        "estado": estado,
        "tipo": "PACIENTE",
        "is_active": unit("active", i) < 0.95,
        "is_superuser": False,
    }


def profissional(j: int) -> dict:
    uid = profissional_id(j)
    nome = _name("prof", j)
    especialidade = pick(ESPECIALIDADES, "esp", j)
    return {
        "id": uid,
        "nome": nome,
        "email": _email(nome, uid, "profissionais.vidaplus.sandbox.test"),
        "telefone": _phone("proftel", j),
        "especialidade": especialidade,
        "horario_atendimento": pick(HORARIOS, "horario", j),
        "crmCoren": f"CRM{100000 + int(unit('crm', j) * 899999)}",
        "biografia": f"{especialidade}, {3 + j % 25} anos de experiência (dados de teste).",
        "tipo": "PROFISSIONAL",
        "is_active": True,
        "is_superuser": False,
    }


def _dated(i: int, count: int) -> str:
    # Newest first: the app lists consultas, prescricoes and exames ORDER BY data DESC, so
    # row i of the list is also the i-th newest (two years back from _TODAY).
    return (_TODAY - timedelta(days=i * 730 // max(1, count))).isoformat()


def consulta(i: int, count: int, pacientes: int, profissionais: int) -> dict:
    tipo = pick(TIPO_CONSULTA, "tipocons", i)
    return {
        "id": i + 1,
        "data": _dated(i, count),
        "hora": f"{8 + int(unit('hora', i) * 10):02d}:{pick((0, 15, 30, 45), 'min', i):02d}:00",
        "paciente_id": paciente_id(i % pacientes, profissionais),
        "profissional_id": profissional_id(int(unit("consprof", i) * profissionais)),
        "status": pick(STATUS_CONSULTA, "statcons", i),
        "tipoConsulta": tipo,
        "observacao": None if unit("obscons", i) < 0.3 else "Retorno em 30 dias.",
    }


def prescricao(i: int, count: int, pacientes: int, profissionais: int) -> dict:
    first = int(unit("med", i) * len(_MEDICAMENTOS))
    meds = [_MEDICAMENTOS[(first + k) % len(_MEDICAMENTOS)] for k in range(1 + i % 3)]
    return {
        "id": i + 1,
        "data": _dated(i, count),
        "paciente_id": paciente_id(i % pacientes, profissionais),
        "profissional_id": profissional_id(int(unit("presprof", i) * profissionais)),
        "tipo_prescricao": pick(TIPO_PRESCRICAO, "tipopres", i),
        "medicamentos": ", ".join(meds),
        "observacao": None if unit("obspres", i) < 0.5 else "Tomar após as refeições.",
    }


def exame(i: int, count: int, pacientes: int, profissionais: int) -> dict:
    status = pick(STATUS_EXAME, "statex", i)
    done = status in ("Realizado", "Concluído")
    return {
        "id": i + 1,
        "paciente_id": paciente_id(i % pacientes, profissionais),
        "data": _dated(i, count),
        "tipo": pick(TIPO_EXAME, "tipoex", i),
        "status": status,
        "resultado": "Dentro dos valores de referência." if done else None,
        "observacao": None if unit("obsex", i) < 0.6 else "Jejum de 8 horas.",
    }


def prontuario(j: int, sizes: dict) -> dict:
    """Prontuário j belongs to paciente j; its lists hold that paciente's consultas,
    prescricoes and exames (row i belongs to paciente i % pacientes)."""
    p, f = sizes["pacientes"], sizes["profissionais"]

    def rows(kind: str, make) -> list[dict]:
        n = sizes[kind]
        return [make(i, n, p, f) for i in range(j, n, p)] if p else []

    return {
        "id": j + 1,
        "paciente_id": paciente_id(j, f),
        "lista_consultas": rows("consultas", consulta),
        "lista_prescricoes": rows("prescricoes", prescricao),
        "lista_exames": rows("exames", exame),
    }


def leito(i: int, pacientes: int, profissionais: int) -> dict:
    status = pick(STATUS_LEITO, "statleito", i)
    occupied = status == "Ocupado" and pacientes > 0
    return {
        "id": i + 1,
        "numero_leito": f"{100 * (1 + i // 20) + i % 20 + 1}-{'AB'[i % 2]}",
        # A free bed has no patient (the app refuses one: "Leito livre não pode ter paciente")
        "paciente_id": paciente_id((i * 7) % pacientes, profissionais) if occupied else None,
        "tipo": pick(TIPO_LEITO, "tipoleito", i),
        "status": status if occupied or status != "Ocupado" else "Livre",
    }


def estoque(i: int) -> dict:
    tipo, nome, unidade = _ESTOQUE[i % len(_ESTOQUE)]
    lote = i // len(_ESTOQUE)
    return {
        "id": i + 1,
        "tipo_item": tipo,
        "nome": nome if lote == 0 else f"{nome} (lote {lote + 1})",
        "quantidade": int(unit("qtd", i) * 500),
        "unidade": unidade,
        "data_validade": (date(2025, 8, 1) + timedelta(days=int(unit("val", i) * 900))).isoformat(),
    }
