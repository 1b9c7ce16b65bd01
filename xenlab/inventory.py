"""The lab inventory: an Ansible inventory -> frozen `Lab` objects.

ansible-core reads the file (group_vars/, host_vars/, ranges, children); this
module maps the roles of docs/DESIGN.md onto hosts and checks the contract.
Every problem is an `InventoryError` with one line: file, host or group, cause.

One inventory is one lab, named after the file. Class mode: an inventory with
a group `labs` holds one lab per child group of `labs` (each child contains
its own iscsi_target / xen_hosts hosts), named after that child group.

An inventory is a file or, as Ansible reads one, a directory of sources read in name
order with its group_vars/ and host_vars/: a class described once as a pattern is such a
directory (ansible-core's generator and constructed plugins, docs/class.md). xenlab reads
the values the inventory holds, as `ansible-inventory --host NAME` shows them: a Jinja
template left in a variable xenlab reads is an error, never sent as text.
"""
from __future__ import annotations

import functools
import json
import os
import shlex
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, get_type_hints

from xenlab.errors import InventoryError, first_line

TARGET_GROUP = "iscsi_target"
XEN_GROUP = "xen_hosts"
LABS_GROUP = "labs"
# The lab's contract: every variable a stage reads, with its type. Read and checked once,
# when the inventory is loaded (`Lab.values`): a missing or malformed one is one line
# naming the variable and the hosts, before any test runs.
@dataclass(frozen=True)
class LabValues:
    """The lab variables, typed (`lab.values.iscsi_port` is an int)."""

    iscsi_iqn: str
    iscsi_port: int
    iscsi_lun: int
    iscsi_backing_store: str
    iscsi_initiator_address: str
    shared_disk: str
    shared_partition: str
    shared_partition_size_mib: int
    shared_partition_type: str
    shared_fstype: str
    dom0_mem_mib: int
    bridge: str
    bridge_port: str
    lab_prefix: int
    shared_mount: str
    guest_image: str
    guest_image_size_mib: int
    guest_name: str
    guest_config: str
    guest_kernel: str
    guest_ramdisk: str
    guest_netfront_module: str
    guest_memory_mib: int
    guest_vcpus: int
    guest_root: str
    guest_extra: str
    guest_ip: str
    relocation_port: int
    relocation_hosts_allow: str
    migration_downtime_max_s: float


REQUIRED_LAB_VARS = tuple(f.name for f in fields(LabValues))
# Ranges beyond the type (a port, a prefix length); others: >= 0.
_RANGES = {"iscsi_port": (1, 65535), "relocation_port": (1, 65535), "lab_prefix": (0, 32),
           "guest_memory_mib": (1, None), "guest_vcpus": (1, None)}
# Variables ansible adds to every host; they are not the lab's.
_MAGIC_VARS = frozenset({
    "ansible_config_file", "ansible_facts", "ansible_playbook_python", "ansible_version",
    "group_names", "groups", "inventory_dir", "inventory_file", "inventory_hostname",
    "inventory_hostname_short", "omit", "playbook_dir",
})
# Kept out of HostSpec.vars: the password lives only in HostSpec.password.
_SECRET_VARS = ("ansible_password", "ansible_ssh_pass", "ansible_become_password",
                "ansible_become_pass")
_FALSE = {"false", "no", "off", "0"}
# Vars whose value no report or log may show (a CHAP secret, a vault token ...).
SECRET_NAME = re.compile(r"pass|secret|token|private", re.I)


@dataclass(frozen=True)
class HostSpec:
    """How to reach one lab host, and all its merged inventory vars."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    password: str | None = None
    lab_ip: str | None = None
    vars: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    # How the connection gets there, as OpenSSH's ProxyJump / ProxyCommand say it
    # (from ansible_ssh_*_args or --ssh-config); None: directly.
    proxy_jump: str | None = None
    proxy_command: str | None = None
    # Ansible's become (sudo): every command runs as become_user; None: as `user`.
    become_user: str | None = None
    become_password: str | None = None

    def __repr__(self) -> str:
        secret = ", password=***" if self.password else ""
        become = f", become={self.become_user!r}" if self.become_user else ""
        return f"HostSpec({self.name!r}, {self.endpoint}, user={self.user!r}{become}{secret})"

    @property
    def endpoint(self) -> str:
        """Where the host is reached, and through what (said in every connection error)."""
        if self.is_local:
            return "local"
        via = (f" via {self.proxy_jump}" if self.proxy_jump
               else " via ProxyCommand" if self.proxy_command else "")
        return f"{self.address}:{self.port}{via}"

    @property
    def is_local(self) -> bool:
        """Commands run on this machine (tests, `local://`), not over SSH."""
        return self.address == "local"

    @functools.cached_property  # asked for on every command's output
    def secrets(self) -> tuple[str, ...]:
        """Values never shown: the password, and vars named like a secret (longest first)."""
        found = {v for k, v in self.vars.items()
                 if SECRET_NAME.search(k) and len(v) >= 4 and k not in _KEY_FILE_VARS}
        found |= {p for p in (self.password, self.become_password) if p}
        return tuple(sorted(found, key=len, reverse=True))

    @property
    def known_hosts(self) -> str | None:
        """The lab's own known_hosts file: inventory var xenlab_known_hosts, else the
        UserKnownHostsFile of ansible_ssh_common_args / ansible_ssh_extra_args."""
        return self.vars.get("xenlab_known_hosts") or _ssh_options(self).get("userknownhostsfile")

    @property
    def host_key_checking(self) -> bool:
        """As Ansible decides it: xenlab_host_key_checking, else -o StrictHostKeyChecking in
        ansible_ssh_*_args, else ansible_host_key_checking, else $ANSIBLE_HOST_KEY_CHECKING;
        on unless one of them says no."""
        strict = {"yes": "true", "no": "false", "accept-new": "false", "off": "false"}.get(
            _ssh_options(self).get("stricthostkeychecking", "").lower())
        for value in (self.vars.get("xenlab_host_key_checking"), strict,
                      self.vars.get("ansible_host_key_checking"),
                      os.environ.get("ANSIBLE_HOST_KEY_CHECKING")):
            if value:
                return value.lower() not in _FALSE
        return True


@dataclass(frozen=True)
class Lab:
    """One lab: the iSCSI target, two Xen hosts (source, destination), lab vars.

    `vars` holds the variables every host of the lab has with the same value
    ([lab:vars], group_vars/all.yml, ...); per-host values stay in HostSpec.vars.
    """

    name: str
    target: HostSpec
    xen_hosts: tuple[HostSpec, HostSpec]
    source: HostSpec
    destination: HostSpec
    vars: Mapping[str, str] = field(hash=False, repr=False)
    inventory: str = ""
    values: LabValues | None = field(default=None, hash=False, repr=False, compare=False)

    @property
    def hosts(self) -> tuple[HostSpec, ...]:
        return (self.target, *self.xen_hosts)

    def map_hosts(self, change: Callable[[HostSpec], HostSpec]) -> Lab:
        """The same lab with change() applied to every host spec."""
        new = {h.name: change(h) for h in self.hosts}
        return replace(self, target=new[self.target.name],
                       xen_hosts=(new[self.xen_hosts[0].name], new[self.xen_hosts[1].name]),
                       source=new[self.source.name], destination=new[self.destination.name])

    def require(self, var: str) -> str:
        """A lab variable beyond the contract (LabValues), as text; missing: InventoryError."""
        try:
            return self.vars[var]
        except KeyError:
            raise InventoryError(
                f"{self.inventory}: lab {self.name}: {_missing_cause(var, self.hosts)}") from None


def load_lab(path: str | Path) -> Lab:
    """The only lab of an inventory (class-mode inventories are an error here)."""
    labs = load_labs(path)
    if len(labs) != 1:
        raise InventoryError(f"{path}: group {LABS_GROUP} holds {len(labs)} labs "
                             f"({', '.join(lab.name for lab in labs)}); expected one")
    return labs[0]


def load_labs(path: str | Path) -> tuple[Lab, ...]:
    path = Path(path)
    if not path.exists():
        raise InventoryError(f"{path}: no such inventory file or directory")
    inventory, variables = _ansible(path)
    labs = inventory.groups.get(LABS_GROUP)
    if labs is None:
        return (_lab(path, path.stem, None, inventory, variables),)
    children = sorted(labs.child_groups, key=lambda g: g.name)
    if not children:
        raise InventoryError(f"{path}: group {LABS_GROUP} has no child groups (one per lab)")
    return tuple(_lab(path, g.name, {h.name for h in g.get_hosts()}, inventory, variables)
                 for g in children)


def with_hosts(lab: Lab, hostspecs: Iterable[str]) -> Lab:
    """Apply testinfra-style --hosts specs (ssh://, paramiko://, ansible://, local://).

    Each ssh:// or paramiko:// spec names an inventory host, by name or by address
    (and port); a user, password or port written in it replaces the inventory's.
    local://NAME runs NAME's commands on this machine. ansible://PATTERN changes
    nothing. Hosts not named keep their inventory values.
    """
    from testinfra.backend.base import BaseBackend

    changed: dict[str, HostSpec] = {}
    for text in hostspecs:
        scheme, sep, rest = text.partition("://")
        if not sep:
            scheme, rest = "ssh", text
        if scheme not in ("ssh", "paramiko", "ansible", "local"):
            raise InventoryError(f"--hosts {text}: unsupported scheme {scheme}:// "
                                 "(use ssh://, paramiko://, ansible:// or local://)")
        if scheme == "ansible":
            continue  # an ansible host pattern over this inventory: nothing to replace
        given = BaseBackend.parse_hostspec(rest.split("?", 1)[0])
        port = int(given.port) if given.port else None
        found = ([h for h in lab.hosts if h.name == given.name]
                 or [h for h in lab.hosts if h.address == given.name])
        if len(found) > 1:  # one address, several ports (the lab-in-a-box)
            found = [h for h in found if h.port == port]
        if len(found) != 1:
            why = "matches several hosts" if found else "is not a host"
            raise InventoryError(f"--hosts {text}: {given.name} {why} of {lab.inventory} "
                                 f"(hosts: {', '.join(h.name for h in lab.hosts)})")
        spec = found[0]
        if scheme == "local":
            changed[spec.name] = replace(spec, address="local")
        else:
            changed[spec.name] = replace(spec, user=given.user or spec.user,
                                         port=port or spec.port,
                                         password=given.password or spec.password)
    return lab.map_hosts(lambda h: changed.get(h.name, h))


def with_ssh_config(lab: Lab, path: str) -> Lab:
    """Apply an OpenSSH client config (testinfra's --ssh-config) to the lab's hosts.

    Like `ssh -F` under the inventory's own settings: HostName, Port, User,
    IdentityFile, ProxyJump and ProxyCommand of the host's entry apply where the
    inventory sets no ansible_host, ansible_port, ansible_user, key file or proxy.
    """
    from xenlab.remote.sshconfig import read_ssh_config  # lazily: xenlab.remote imports us

    try:
        lookup = read_ssh_config(path)
    except OSError as exc:
        raise InventoryError(f"--ssh-config {path}: {exc.strerror}") from None

    def apply(spec: HostSpec) -> HostSpec:
        if spec.is_local:
            return spec
        entry = lookup(spec.name)
        spec = replace(
            spec,
            address=entry.hostname if "ansible_host" not in spec.vars else spec.address,
            port=entry.port if entry.port is not None and "ansible_port" not in spec.vars
            else spec.port,
            user=entry.user if entry.user is not None and "ansible_user" not in spec.vars
            else spec.user,
            key_file=spec.key_file or next(iter(entry.identity_files), None))
        if spec.proxy_jump or spec.proxy_command:
            return spec
        # a ProxyCommand comes with its %-tokens expanded by paramiko, for the config's
        # HostName (or the host's name when the config gives none)
        jump, command = _proxy_pair(f"--ssh-config {path}: host {spec.name}",
                                    entry.proxy_jump, entry.proxy_command, both="apply")
        return replace(spec, proxy_jump=jump, proxy_command=command)
    return lab.map_hosts(apply)


def box_inventory_path() -> Path | None:
    """The lab-in-a-box's inventory if the box is up (its VMs' PIDs alive), else None.

    `python -m xenlab box up` writes ${XENLAB_STATE:-/var/lib/xenlab}/box/inventory.ini
    and state.json; the box's own status reader decides whether it is up.
    """
    from xenlab.box.lifecycle import read_status
    from xenlab.box.paths import run_dir

    inventory = run_dir() / "inventory.ini"
    return inventory if inventory.is_file() and read_status().running else None


def _ansible(path: Path):
    # Imported here: ansible takes ~0.5 s to import and only this needs it.
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    _collections()
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    if not inventory.hosts:
        raise InventoryError(f"{path}: ansible found no hosts in it (see its warning above)")
    if unread := _unread_sources(path, inventory):
        # a class read in part (its pattern not applied) is no class: hosts without addresses
        raise InventoryError(f"{unread[0]}: ansible could not read this inventory source"
                             + _why_unread(unread[0], inventory, loader))
    return inventory, VariableManager(loader=loader, inventory=inventory)


def _collections() -> None:
    """Let ansible-core find what an inventory names by its full name (`plugin:
    ansible.builtin.generator`, `ansible.builtin.*` filters in a constructed plugin's
    compose), as its own commands do before they read one; once per process."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()


def _unread_sources(path: Path, inventory) -> list[str]:
    """The files of an inventory directory that ansible tried and could not read (it warns
    and goes on with the others), in the order it read them."""
    from ansible.inventory.manager import IGNORED
    from ansible.utils.path import unfrackpath

    if not path.is_dir():
        return []
    read = set(getattr(getattr(inventory, "_inventory", None), "processed_sources", ()))

    def tried(folder: str) -> list[str]:  # as InventoryManager.parse_source walks it
        entries = [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                   if not IGNORED.search(os.fsencode(n))]
        return [f for e in entries for f in (tried(e) if os.path.isdir(e) else [e])]
    return [f for f in tried(unfrackpath(str(path), follow=False)) if f not in read] if read else []


def _why_unread(source: str, inventory, loader) -> str:
    """Why ansible could not read `source`, as the rest of a line. Ansible warns once for
    each plugin it tried; for an inventory plugin's YAML (a constructed plugin whose
    compose does not evaluate) the cause is the `auto` plugin's, got here by reading the
    source again on the inventory read so far (`: Could not set lab_ip for host
    stu31-test2: 'host_number' is undefined`). Otherwise: see ansible's warning."""
    from ansible import constants
    from ansible.plugins.loader import inventory_loader

    fallback = (f" with its enabled inventory plugins ({', '.join(constants.INVENTORY_ENABLED)});"
                f" its warning above says why")
    auto = inventory_loader.get("auto") if "auto" in constants.INVENTORY_ENABLED else None
    data = getattr(inventory, "_inventory", None)
    if auto is None or data is None or not auto.verify_file(source):
        return fallback
    try:
        auto.parse(data, loader, source, cache=False)
    except Exception as exc:  # whatever it raises is the cause to name
        while exc.__cause__ is not None:
            exc = exc.__cause__
        return f": {first_line(str(exc))}"
    return fallback


def _lab(path: Path, name: str, members: set[str] | None, inventory, variables) -> Lab:
    where = f"{path}: lab {name}" if members is not None else str(path)

    def role(group: str, count: int) -> list[HostSpec]:
        found = inventory.groups.get(group)
        hosts = [h for h in (found.get_hosts() if found else [])
                 if members is None or h.name in members]
        if len(hosts) != count:
            names = f" ({', '.join(h.name for h in hosts)})" if hosts else ""
            raise InventoryError(f"{where}: group {group} must have exactly {count} "
                                 f"host{'s' if count > 1 else ''}, has {len(hosts)}{names}")
        return [_spec(where, h, variables) for h in hosts]

    (target,) = role(TARGET_GROUP, 1)
    xen = role(XEN_GROUP, 2)
    for spec in xen:
        role_var = spec.vars.get("migration_role")
        if role_var not in ("source", "destination"):
            now = f"is {role_var!r}" if role_var is not None else "is not set"
            raise InventoryError(f"{where}: host {spec.name}: migration_role must be source or "
                                 f"destination, {now}")
    sources = [s for s in xen if s.vars["migration_role"] == "source"]
    if len(sources) != 1:
        raise InventoryError(f"{where}: group {XEN_GROUP}: exactly one host must have "
                             f"migration_role=source, {len(sources)} have")
    source = sources[0]
    destination = next(s for s in xen if s is not source)
    hosts = (target, *xen)
    lab_vars = {k: v for k, v in target.vars.items()
                if all(h.vars.get(k) == v for h in hosts)}
    missing = [v for v in REQUIRED_LAB_VARS if v not in lab_vars]
    if missing:
        others = ", ".join(missing[1:6]) + (", ..." if len(missing) > 6 else "")
        more = f" (and {len(missing) - 1} more: {others})" if others else ""
        raise InventoryError(f"{where}: {_missing_cause(missing[0], hosts)}{more}")
    return Lab(str(name), target, (xen[0], xen[1]), source, destination,
               MappingProxyType(lab_vars), str(path), _values(where, lab_vars, hosts))


def _values(where: str, lab_vars: Mapping[str, str], hosts: tuple[HostSpec, ...]) -> LabValues:
    """The contract's variables, converted to their types and range-checked."""
    found = {}
    for name, kind in get_type_hints(LabValues).items():
        raw = lab_vars[name]
        if kind is str:
            found[name] = raw
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = None
        low, high = _RANGES.get(name, (0, None))
        if value is None or value < low or (high is not None and value > high):
            what = "a whole number" if kind is int else "a number"
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise InventoryError(f"{where}: lab var {name}={raw!r} (on "
                                 f"{', '.join(h.name for h in hosts)}) is not {what} {bounds}")
        found[name] = value
    return LabValues(**found)


def _missing_cause(var: str, hosts: tuple[HostSpec, ...]) -> str:
    without = [h.name for h in hosts if var not in h.vars]
    if len(without) == len(hosts):
        return f"lab var {var} is not set (set it in [lab:vars])"
    if without:
        return f"lab var {var} is not set on host {', '.join(without)}"
    return f"lab var {var} differs between hosts (" + ", ".join(
        f"{h.name}={h.vars[var]!r}" for h in hosts) + ")"


def _spec(where: str, host, variables) -> HostSpec:
    from ansible.errors import AnsibleError

    try:
        merged = variables.get_vars(host=host, include_hostvars=False)
    except AnsibleError as exc:
        raise InventoryError(f"{where}: host {host.name}: {first_line(str(exc))}") from None
    template = next((k for k in sorted(merged) if _reads(k) and _is_template(merged[k])), None)
    if template is not None:
        shown = ("***" if template in _SECRET_VARS or SECRET_NAME.search(template)
                 else repr(str(merged[template])))
        raise InventoryError(
            f"{where}: host {host.name}: {template} is a Jinja template ({shown}) that "
            f"Ansible expands only when a play uses it; xenlab reads the values the "
            f"inventory holds (`ansible-inventory --host {host.name}`): compute it when the "
            f"inventory is read, with the constructed plugin's compose (docs/class.md)")
    password = next((str(merged[k]) for k in ("ansible_password", "ansible_ssh_pass")
                     if merged.get(k) is not None), None)
    # Plain str keys and names: ansible-core tags the strings it templated (a generator's
    # host names, a constructed compose's keys), and xdist's channel to its workers sends
    # only builtin types.
    values = {str(k): _text(v) for k, v in merged.items()
              if k not in _MAGIC_VARS and k not in _SECRET_VARS}
    if "lab_ip" not in values:
        raise InventoryError(f"{where}: host {host.name}: lab_ip is not set")
    try:
        port = int(values.get("ansible_port", 22))
    except ValueError:
        raise InventoryError(f"{where}: host {host.name}: ansible_port "
                             f"{values['ansible_port']!r} is not a number") from None
    local = values.get("ansible_connection") == "local"
    proxy_jump, proxy_command = _proxies(where, host.name, values)
    become_user = _become(where, host.name, values)
    become_password = next((str(merged[k]) for k in ("ansible_become_password",
                                                     "ansible_become_pass")
                            if merged.get(k) is not None), None)
    return HostSpec(
        name=str(host.name),
        address="local" if local else values.get("ansible_host", host.name),
        port=port,
        user=values.get("ansible_user", "root"),
        key_file=_path(values.get("ansible_private_key_file")
                       or values.get("ansible_ssh_private_key_file")),
        password=password,
        lab_ip=values["lab_ip"],
        vars=MappingProxyType(values),
        proxy_jump=proxy_jump,
        proxy_command=proxy_command,
        become_user=become_user,
        become_password=become_password if become_user else None,
    )


# Ansible's connection variables: those xenlab's SSH connection follows (jump hosts and
# proxies, host keys, become with sudo) are read here; any other is refused in one line
# naming the host, never ignored (commands would run elsewhere or as the wrong user).
_SSH_ARG_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args")
_KEY_FILE_VARS = ("ansible_ssh_private_key_file", "ansible_private_key_file")
_HONOURED_SSH_OPTIONS = ("userknownhostsfile", "stricthostkeychecking", "proxyjump",
                         "proxycommand")
# Every variable xenlab reads itself (and xenlab_*): the lab's (LabValues), the roles', the
# connection's. Only these must hold plain values; others are the inventory's own business.
_READ_VARS = frozenset({
    *REQUIRED_LAB_VARS, *_SECRET_VARS, *_SSH_ARG_VARS, *_KEY_FILE_VARS, "lab_ip",
    "migration_role", "iscsi_target_software", "iscsi_initiator_name", "ansible_host",
    "ansible_port", "ansible_user", "ansible_connection", "ansible_host_key_checking",
    "ansible_become", "ansible_become_user", "ansible_become_method",
})


def _reads(var: str) -> bool:
    return var in _READ_VARS or var.startswith("xenlab_")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _ssh_args(values: Mapping[str, str]
              ) -> Iterable[tuple[str, str, str | None, str | None]]:
    """(variable, word, option name in lower case, option value) for each argument of the
    host's ansible_ssh_*_args; name and value are None for a word that is no -o option
    (`-o Name=value`, `-oName=value`, `-o 'Name value'` are; `-J HOSTS` is ProxyJump)."""
    for var in _SSH_ARG_VARS:
        words = iter(shlex.split(values.get(var, "")))
        for word in words:
            if word == "-J" or (word.startswith("-J") and len(word) > 2):
                yield var, word, "proxyjump", word[2:] or next(words, "")
                continue
            option = word[2:] if word.startswith("-o") and len(word) > 2 else (
                next(words, "") if word == "-o" else None)
            if option is None:
                yield var, word, None, None
            else:
                # ssh_config's form: the name, then `=` or blanks, then the value
                name, value = (re.match(r"\s*([^=\s]*)\s*=?\s*(.*)", option, re.S)
                               .groups())
                yield var, option, name.lower(), value


def _ssh_options(spec: HostSpec) -> dict[str, str]:
    """The -o options of the host's ansible_ssh_*_args, by name in lower case."""
    return {name: value for _, _, name, value in _ssh_args(spec.vars) if name}


def _proxies(where: str, name: str, values: Mapping[str, str]
             ) -> tuple[str | None, str | None]:
    """(ProxyJump, ProxyCommand) of the host's ansible_ssh_*_args, as `ssh` takes the first
    of each; an option xenlab does not follow is one line (no other ssh option is)."""
    found: dict[str, str] = {}
    for var, word, option, value in _ssh_args(values):
        if option not in _HONOURED_SSH_OPTIONS:
            raise InventoryError(
                f"{where}: host {name}: {var} {word!r} is not supported (xenlab connects "
                f"with paramiko, not the ssh command; it follows -J, -o ProxyJump=..., "
                f"-o ProxyCommand=..., -o UserKnownHostsFile=... and "
                f"-o StrictHostKeyChecking=...)")
        if option in ("proxyjump", "proxycommand") and value:
            found.setdefault(option, value)
    return _proxy_pair(f"{where}: host {name}", found.get("proxyjump"),
                       found.get("proxycommand"), both="are set")


def _proxy_pair(about: str, jump: str | None, command: str | None, both: str
                ) -> tuple[str | None, str | None]:
    """(ProxyJump, ProxyCommand) as given, ssh's "none" read as unset; both set, or a
    ProxyJump that is no [user@]host[:port] list, is one line starting with `about`
    (`both`: how the line says they were both given)."""
    jump = None if jump is None or jump.lower() == "none" else jump
    command = None if command is None or command.lower() == "none" else command
    if jump and command:
        raise InventoryError(f"{about}: both ProxyJump and ProxyCommand {both}; ssh would "
                             f"use only one of them: keep one")
    if jump:
        try:
            jump_hops(jump)
        except ValueError as exc:
            raise InventoryError(f"{about}: ProxyJump {jump!r}: {exc}") from None
    return jump, command


@dataclass(frozen=True)
class JumpHop:
    """One host of a ProxyJump list: [user@]host[:port] or ssh://[user@]host[:port]."""

    host: str
    port: int = 22
    user: str | None = None


def jump_hops(proxy_jump: str) -> tuple[JumpHop, ...]:
    """The hops of an OpenSSH ProxyJump value, first hop first; ValueError when malformed."""
    hops = []
    for text in proxy_jump.split(","):
        text = text.strip().removeprefix("ssh://")
        user, _, rest = text.rpartition("@")
        port = "22"
        if rest.startswith("["):  # [v6 address]:port
            host, _, tail = rest[1:].partition("]")
            port = tail.removeprefix(":") or port
        elif rest.count(":") == 1:
            host, _, port = rest.partition(":")
        else:
            host = rest
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{text!r} is not [user@]host[:port]")
        hops.append(JumpHop(host, int(port), user or None))
    return tuple(hops)


_BECOME_METHODS = ("sudo",)


def _become(where: str, name: str, values: Mapping[str, str]) -> str | None:
    """The user the host's commands run as through sudo (Ansible's ansible_become,
    ansible_become_user: root by default), or None. Ansible ignores a become_user
    without become, and so does this; a method other than sudo is one line."""
    if values.get("ansible_become", "false").lower() in _FALSE:
        return None
    method = values.get("ansible_become_method", "sudo")
    if method not in _BECOME_METHODS:
        raise InventoryError(f"{where}: host {name}: ansible_become_method={method} is not "
                             f"supported (xenlab becomes with sudo)")
    return values.get("ansible_become_user") or "root"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, default=str)


def _path(value: str | None) -> str | None:
    return os.path.expanduser(value) if value else None
