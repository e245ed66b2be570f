"""The seeded demo accounts and clients of the three emulated providers.

Every value is made up for the sandbox. Each secret starts with ``sbx-<provider>-`` so that a
leak scan can grep a notebook, a log or a cache file for it (``SECRETS`` lists them all).
"""

from __future__ import annotations

# vitalera (seeds 000/001): an application (client credentials, rotatable) and one user.
VITALERA_CLIENT_ID = "sbx-vitalera-client-0001"
VITALERA_CLIENT_SECRET = "sbx-vitalera-secret-Qm7vX2c9Lr4TzKp8"
VITALERA_APPLICATION_ID = "sbx-vitalera-app-0001"
# The name and organization the seed's rotate_credentials example answers with.
VITALERA_APPLICATION_NAME = "TestApp"
VITALERA_ORGANIZATION_ID = "123"
VITALERA_USERNAME = "clinician@vitalera.sandbox.test"
VITALERA_PASSWORD = "sbx-vitalera-password-Hx4t9Wq2"
# The seed's password grant answers with a "sub" (<USER_ID>): a UUID, as such APIs use.
VITALERA_USER_ID = "7d1e5a3c-2b8f-4c6d-9e0a-5f2b3c4d5e6f"

# vidaplus (seed 002): the username is the user's email and becomes the JWT's sub.
VIDAPLUS_USERNAME = "researcher@vidaplus.sandbox.test"
VIDAPLUS_PASSWORD = "sbx-vidaplus-password-Nf8s3Kd6"
VIDAPLUS_FULL_NAME = "Sandbox Researcher"

# VitalDB (seed 003): a registered client for the code flow, and a user for id/pw.
VITALDB_CLIENT_ID = "sbx-vitaldb-client-0001"
VITALDB_CLIENT_SECRET = "sbx-vitaldb-secret-Tz5pW8r1Ym3Gk6Hd"
VITALDB_USERNAME = "sbx_researcher"
VITALDB_PASSWORD = "sbx-vitaldb-password-Lc2v7Bn4"
VITALDB_EMAIL = "researcher@vitaldb.sandbox.test"
# A loopback callback, as a notebook's one-shot listener would use.
VITALDB_REDIRECT_URI = "http://127.0.0.1:8976/callback"

SECRETS: tuple[str, ...] = (
    VITALERA_CLIENT_SECRET,
    VITALERA_PASSWORD,
    VIDAPLUS_PASSWORD,
    VITALDB_CLIENT_SECRET,
    VITALDB_PASSWORD,
)
"""Every seeded secret, for leak scans (rotated vitalera secrets also start ``sbx-vitalera-``)."""
