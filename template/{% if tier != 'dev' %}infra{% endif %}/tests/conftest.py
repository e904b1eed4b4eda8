"""Run the Pulumi program under Pulumi's mocks: no CLI, no plugins, no network, no cloud account.

Every resource the program declares is recorded with its inputs (named as on the wire, camelCase);
the mocks answer with those inputs plus the few values the provider would compute.
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

import tier

# Values a provider computes on create, which the program passes on to other resources or outputs.
COMPUTED: dict[str, dict[str, Any]] = {
    "digitalocean:index/sshKey:SshKey": {"fingerprint": "3b:16:bf:e4:8b:00:8b:b8"},
    "digitalocean:index/droplet:Droplet": {"ipv4Address": "203.0.113.10"},
    "digitalocean:index/spacesKey:SpacesKey": {
        "accessKey": "DO00MOCKACCESSKEY",
        "secretKey": "mock-spaces-secret",
    },
    "digitalocean:index/databaseCluster:DatabaseCluster": {
        "host": "db-primary.example.net",
        "privateHost": "private-db-primary.example.net",
        "port": 25060,
    },
    "digitalocean:index/databaseReplica:DatabaseReplica": {
        "host": "db-replica.example.net",
        "privateHost": "private-db-replica.example.net",
        "port": 25060,
    },
    "digitalocean:index/databaseUser:DatabaseUser": {"password": "mock-database-password"},
    "digitalocean:index/kubernetesCluster:KubernetesCluster": {
        "kubeConfigs": [{"rawConfig": "apiVersion: v1\nkind: Config\n"}]
    },
    "kubernetes:core/v1:Service": {
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.20"}]}}
    },
}
CALLS: dict[str, dict[str, Any]] = {
    "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken": {
        "token": "mock-tunnel-token"
    },
    "digitalocean:index/getDatabaseCa:getDatabaseCa": {
        "certificate": "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n"
    },
    "digitalocean:index/getKubernetesVersions:getKubernetesVersions": {
        "latestVersion": "1.33.1-do.0",
        "validVersions": ["1.33.1-do.0", "1.33.0-do.1"],
    },
}
# The stack's configuration (`pulumi config set`), as a founder sets it.
CONFIG = {
    "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockKeyForTests founder@example.com",
    "cloudflare_account_id": "0123456789abcdef0123456789abcdef",
    "cloudflare_zone_id": "fedcba9876543210fedcba9876543210",
    "cloudflare_dns_token": "mock-cloudflare-dns-token",
}


# How the mocks receive a secret input (Pulumi's wire format): {KEY: SIGNATURE, "value": ...}.
SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE


def reveal(value: Any) -> Any:
    """The value with every secret in it unwrapped."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


@dataclass
class Declared:
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    # The inputs passed as secrets: Pulumi encrypts them in the state.
    secret_inputs: set[str]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.declared: list[Declared] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        # Numeric ids, as DigitalOcean's: a firewall takes droplet ids as integers.
        resource_id = args.resource_id or str(1000 + len(self.declared))
        secret_inputs = {name for name, value in args.inputs.items() if is_secret(value)}
        inputs = reveal(dict(args.inputs))
        self.declared.append(Declared(args.typ, args.name, resource_id, inputs, secret_inputs))
        state = {**inputs, **COMPUTED.get(args.typ, {})}
        if args.typ == "kubernetes:helm.sh/v3:Release":  # Helm reports where it installed
            state["status"] = {"name": args.inputs["name"], "namespace": args.inputs["namespace"]}
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        self.calls.append((args.token, dict(args.args)))
        return CALLS[args.token]


@dataclass
class Program:
    declared: list[Declared]
    calls: list[tuple[str, dict[str, Any]]]
    outputs: dict[str, Any]

    def all_of(self, type_: str) -> list[Declared]:
        return [resource for resource in self.declared if resource.type == type_]

    def one(self, type_: str) -> Declared:
        found = self.all_of(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def secret_inputs(self, name: str) -> set[str]:
        [resource] = [resource for resource in self.declared if resource.name == name]
        return resource.secret_inputs


@pytest.fixture(scope="session")
def program() -> Program:
    """The program run once under the mocks: what it declared and its outputs' values."""
    project = f"{tier.PROJECT}-infra"  # Pulumi.yaml's name: the config's namespace
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack="prod", preview=False)
    pulumi.runtime.set_all_config({f"{project}:{key}": value for key, value in CONFIG.items()})
    import stack  # after set_mocks: resources declared at import would bypass them

    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def run() -> pulumi.Output:
        built = stack.build(pulumi.Config())
        return pulumi.Output.all(**built).apply(outputs.update)

    run()
    return Program(mocks.declared, mocks.calls, outputs)
