"""Who can reach this app, and so what it may read from the computer it runs on.

By default the server listens on localhost only (.streamlit/config.toml): only the person at this
computer can open it, and reading folders and tables by path is as safe as their own file browser.
Started to be shared (``--server.address 0.0.0.0``, a class on a network), anyone who can open the
page could type a path and read any image folder or table on this computer; so paths on the server
(data, and local model folders) are off unless ``TRANSFERLAB_ALLOW_SERVER_PATHS=1`` says the people
who can reach it are trusted. Uploads, samples and Hugging Face ids keep working.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from core import paths
from core.i18n import _

ALLOW_VARIABLE = "TRANSFERLAB_ALLOW_SERVER_PATHS"


def listen_address() -> str:
    """The address the server listens on ("" means every network interface: Streamlit's own default)."""
    from streamlit import config

    return str(config.get_option("server.address") or "")


def is_loopback(address: str) -> bool:
    if address.strip("[]").lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # "" (every interface), 0.0.0.0, a host name or a LAN address


def shared() -> bool:
    """Can other computers reach this app?"""
    return not is_loopback(listen_address())


def server_paths_allowed() -> bool:
    return not shared() or os.environ.get(ALLOW_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def why_paths_are_off() -> str:
    """Why a path on the server cannot be read, and what to do instead, in the current language."""
    where = listen_address()
    if not where:
        return _("This app is reachable from other computers (it listens on every network interface), so reading "
                 "folders and files on the computer it runs on is off: anyone who can open this page could read "
                 "them. Upload a .zip or a table instead, or, if you trust everyone who can reach it, restart it "
                 "with {variable}=1.", variable=ALLOW_VARIABLE)
    return _("This app is reachable from other computers (it listens on {address}), so reading folders and files on "
             "the computer it runs on is off: anyone who can open this page could read them. Upload a .zip or a "
             "table instead, or, if you trust everyone who can reach it, restart it with {variable}=1.",
             address=where, variable=ALLOW_VARIABLE)


def may_read(source: str) -> bool:
    """May a data source named in the page's address (or typed in) be read? Samples and uploads always;
    other paths on this computer only while server paths are allowed."""
    if source.startswith("sample:") or server_paths_allowed():
        return True
    try:
        return Path(source).expanduser().resolve().is_relative_to(paths.data_dir() / "uploads")
    except (OSError, ValueError):
        return False


def is_local_folder(name: str) -> bool:
    """A backbone name that would read a model folder on this computer (not a registry name, not hf:,
    not one of this app's own runs)."""
    from core import backbones, paths

    if name.startswith("run:"):
        try:
            return not Path(name[4:]).expanduser().resolve().is_relative_to(paths.runs_dir().resolve())
        except OSError:
            return True
    if name.startswith("hf:") or name in {spec.name for spec in backbones.list_specs()}:
        return False
    try:
        return Path(name).expanduser().is_dir()
    except OSError:
        return False
