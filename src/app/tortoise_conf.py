"""The config for Tortoise's own CLI (`python -m tortoise -c app.tortoise_conf.TORTOISE_ORM
makemigrations`), read from the same environment as the service."""

from app.db import tortoise_config
from app.settings import Settings

TORTOISE_ORM = tortoise_config(Settings.from_env())
