"""All configuration, from MINHBACH_* environment variables or a .env file (DESIGN §8)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINHBACH_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="SQLite file, keys")
    database_url: str = Field(default="", description="sqlite:///path or postgresql://...")
    service_key_hex: str = Field(default="", description="64 hex chars; else var/service.key")
    signing_key_hex: str = Field(default="", description="Ed25519 key, 64 hex; else var/signing.key")
    tree_head_interval_s: float = Field(default=2.0, description="seconds between tree heads")
    wait_timeout_s: float = Field(default=5.0, description="how long ?after= may wait")
    access_log: bool = Field(default=True, description="log every request (uvicorn access log)")
    run_projections: bool = Field(default=True, description="follow the log inside the server")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'minhbach.db').resolve()}"
