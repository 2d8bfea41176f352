"""All configuration, from MINHBACH_* environment variables or a .env file (DESIGN §8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from limits import parse
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.checkpoint import DEFAULT_ORIGIN, NoteError, cosignature_key_id, note_key_id
from domain.dates import AHEAD_DAYS, EARLIEST, DateWindow
from domain.inputs import CHILD_MAX_AGE
from domain.money import MAX_AMOUNT_VND
from domain.proposals import FOUR_EYES_VND
from domain.recognition import parse_tiers


def parse_witnesses(text: str) -> dict[str, bytes]:
    """`name=hex;name=hex` → {name: 32-byte Ed25519 public key}; ValueError on a bad entry."""
    found: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, key_hex = part.partition("=")
        try:
            key = bytes.fromhex(key_hex.strip())
            if not sep or len(key) != 32:
                raise ValueError
            cosignature_key_id(name.strip(), key)
        except (ValueError, NoteError) as exc:
            raise ValueError(f"bad witness {part!r}: want name=<64 hex>") from exc
        if name.strip() in found:
            raise ValueError(f"witness {name.strip()!r} listed twice")
        found[name.strip()] = key
    return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINHBACH_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="SQLite file, keys")
    database_url: str = Field(default="", description="sqlite:///path or postgresql://...")
    read_database_url: str = Field(
        default="", description="postgresql://... of a streaming replica of database_url: public"
                                " and auditor reads go there (read-your-writes kept)")
    replica_wait_s: float = Field(
        default=0.5, ge=0, description="how long a read asking for a position waits for the"
                                       " replica before the primary serves it")
    service_key_hex: str = Field(default="", description="64 hex chars; else var/service.key")
    signing_key_hex: str = Field(default="", description="Ed25519 key, 64 hex; else var/signing.key")
    checkpoint_origin: str = Field(
        default=DEFAULT_ORIGIN,
        description="the C2SP checkpoint origin line, also the log's note key name (no spaces, no +)")
    witnesses: str = Field(
        default="", description="the witnesses whose cosignatures count, `name=<64 hex public key>`"
                                " separated by `;` (name: a schema-less URL, e.g. mttq.langson.vn/w1)")
    witness_quorum: int = Field(default=0, ge=0,
                                description="how many of them must cosign a tree head before it is"
                                            " published; 0: every signed head is published")
    witness_grace_s: float = Field(default=3600.0, ge=0,
                                   description="`audit verify` fails when events have waited longer"
                                               " than this for the witnesses' quorum")
    tree_head_interval_s: float = Field(default=2.0, description="seconds between tree heads")
    wait_timeout_s: float = Field(default=5.0, description="how long ?after= may wait")
    access_log: bool = Field(default=True, description="log every request (uvicorn access log)")
    run_projections: bool = Field(default=True, description="follow the log inside the server")
    # Abuse limits. Bodies are counted as they arrive, whatever Content-Length says.
    max_json_body_bytes: int = Field(default=1 << 20, ge=1, description="largest non-upload body")
    max_upload_body_bytes: int = Field(default=50 << 20, ge=1,
                                       description="largest multipart/form-data body (statements)")
    dates_from: dt.date = Field(default=EARLIEST, description="earliest business date accepted")
    dates_ahead_days: int = Field(default=AHEAD_DAYS, ge=0,
                                  description="how many days after today a business date may lie")
    child_max_age: int = Field(default=CHILD_MAX_AGE, ge=1, le=30,
                               description="a child registered is under this age (in years of birth)")
    four_eyes_vnd: int = Field(default=FOUR_EYES_VND, ge=0, le=MAX_AMOUNT_VND,
                               description="allocations and reversals above it wait for a second"
                                           " person's approval")
    recognition_tiers: str = Field(
        default="Bằng khen của Chủ tịch UBND tỉnh=100000000;Giấy khen của Giám đốc Sở LĐTBXH=20000000;"
                "Thư cảm ơn=1",
        description="the donor recognition list's tiers, `name=least đồng` separated by `;`")
    max_lag_events: int = Field(default=10_000, ge=0,
                                description="events a projection may lag and still be ready")
    rate_limits: bool = Field(default=True, description="per-client rate limits; off for benchmarks")
    public_search_rate: str = Field(default="120/minute",
                                    description="searches of the public donations per client IP")
    failed_auth_rate: str = Field(default="60/minute",
                                  description="refused tokens per client IP before 429")
    anonymous_wait_timeout_s: float = Field(default=2.0, ge=0,
                                            description="how long ?after= may wait without a token")
    max_anonymous_waiters: int = Field(default=16, ge=0,
                                       description="anonymous ?after= waits at once; beyond: 503 busy")

    @field_validator("recognition_tiers")
    @classmethod
    def _tiers(cls, value: str) -> str:
        parse_tiers(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        # A replica is PostgreSQL's streaming replication of the primary: SQLite has none.
        if self.read_database_url and not (
                self.read_database_url.startswith("postgresql")
                and self.resolved_database_url.startswith("postgresql")):
            raise ValueError("MINHBACH_READ_DATABASE_URL is a PostgreSQL replica of a PostgreSQL"
                             " MINHBACH_DATABASE_URL")
        if self.witness_quorum > len(parse_witnesses(self.witnesses)):
            raise ValueError("witness_quorum is more than the witnesses configured")
        return self

    @field_validator("checkpoint_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        note_key_id(value, bytes(32))  # the origin is also the key name: refused at start-up
        return value

    @field_validator("witnesses")
    @classmethod
    def _witnesses(cls, value: str) -> str:
        parse_witnesses(value)
        return value

    @property
    def witness_keys(self) -> dict[str, bytes]:
        return parse_witnesses(self.witnesses)

    @field_validator("public_search_rate", "failed_auth_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse(value)  # "N/second|minute|hour|day": refused at start-up, not on the first request
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'minhbach.db').resolve()}"

    @property
    def date_window(self) -> DateWindow:
        return DateWindow(first=self.dates_from, ahead_days=self.dates_ahead_days)
