#!/usr/bin/env python3
"""Structural check of docker-compose.yml and the Dockerfile (no Docker engine runs here)."""
import re
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parent.parent
problems = []

compose = yaml.safe_load((root / "docker-compose.yml").read_text())
services = compose.get("services", {})
for name in ("api", "db"):
    if name not in services:
        problems.append(f"service {name!r} missing")
api, db = services.get("api", {}), services.get("db", {})
if api.get("build") not in (".", {"context": "."}):
    problems.append("api must build from the repository's Dockerfile")
env = api.get("environment", {})
if not str(env.get("DATABASE_URL", "")).startswith(("postgres://", "postgresql://")):
    problems.append("api DATABASE_URL must point at PostgreSQL")
for secret in ("SECRET_KEY", "AUDIT_HMAC_KEY"):
    if secret not in env or ":?" not in str(env[secret]):
        problems.append(f"api {secret} must be required from the environment")
if env.get("APP_ENV") != "production":
    problems.append("api must run with APP_ENV=production")
if api.get("depends_on", {}).get("db", {}).get("condition") != "service_healthy":
    problems.append("api must wait for a healthy db")
if "healthcheck" not in db:
    problems.append("db needs a healthcheck")
if not any(str(p).endswith(":8000") for p in api.get("ports", [])):
    problems.append("api must publish port 8000")

dockerfile = (root / "Dockerfile").read_text()
stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", dockerfile, re.MULTILINE | re.IGNORECASE)
if len(stages) < 2:
    problems.append("Dockerfile must be multi-stage")
if "--locked" not in dockerfile:
    problems.append("Dockerfile must build with --locked")
if not re.search(r"^USER\s+(?!root)\S+", dockerfile, re.MULTILINE):
    problems.append("Dockerfile must not run as root")

if problems:
    print("\n".join(f"FAIL: {p}" for p in problems))
    sys.exit(1)
print(f"ok: compose services {sorted(services)}, Dockerfile stages {len(stages)}")
