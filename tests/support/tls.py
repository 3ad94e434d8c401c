"""A real TLS terminator in front of a Temporal server, and the certificates a test makes for it.

- ``Certificates``: a CA, a server certificate (SAN ``temporal.test`` and 127.0.0.1), a client
  certificate, and another CA with a client certificate of its own: made by ``openssl``;
- ``TlsProxy``: nginx (Debian's ``nginx-light`` with ``libnginx-mod-stream``) terminating TLS on
  two ports, one server-only and one that requires a client certificate (mTLS), passing the
  bytes on to the server.

Why nginx's stream proxy and not stunnel: the SDK's gRPC transport (tonic) refuses a TLS server
that does not negotiate HTTP/2 by ALPN, and stunnel 5.68 cannot; nginx's ``ssl_alpn h2`` can.
The stream proxy also checks the client certificate at the TLS layer, as Temporal's own
frontend does, instead of answering an HTTP error page.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import unavailable
from tests.support.processes import Child, Children, free_port

SERVER_NAME = "temporal.test"
STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
INSTALL = "apt-get install nginx-light libnginx-mod-stream openssl"


def tools(*, proxy: bool = True, nginx: bool = False) -> str:
    """The nginx binary, once what the test needs is there: openssl, and with ``proxy`` nginx and
    its stream module (with ``nginx`` alone: nginx's HTTP proxy). Skipped without them, failed
    under ``CI=true``, where these tests must run."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    needed = [("openssl", shutil.which("openssl") is not None)]
    if proxy or nginx:
        needed.append(("nginx", Path(binary).is_file()))
    if proxy:
        needed.append((str(STREAM_MODULE), STREAM_MODULE.is_file()))
    missing = [what for what, present in needed if not present]
    if missing:
        unavailable(f"no {', '.join(missing)} ({INSTALL})", "CI=true: these tests must run")
    return binary


def _openssl(*args: str, folder: Path) -> None:
    done = subprocess.run(
        ["openssl", *args], cwd=folder, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"openssl {args[0]} failed:\n{done.stderr}")


def _pem(name: str, doc: str | None = None) -> property:
    """A file of the certificates' folder, by name."""

    def path(self: Certificates) -> Path:
        return self.folder / name

    return property(path, doc=doc)


@dataclass(frozen=True)
class Certificates:
    """PEM files in ``folder``; each ``*_cert`` has its ``*_key``."""

    folder: Path

    ca = _pem("ca.pem")
    wrong_ca = _pem("wrong-ca.pem")
    server_cert = _pem("server.pem")
    server_key = _pem("server.key")
    client_cert = _pem("client.pem")
    client_key = _pem("client.key")
    stranger_cert = _pem("stranger.pem", "A client certificate the wrong CA signed.")
    stranger_key = _pem("stranger.key")

    @classmethod
    def make(cls, folder: Path) -> Certificates:
        """Two CAs and the certificates they sign, valid for two days (P-256 keys: fast)."""
        folder.mkdir(parents=True, exist_ok=True)
        made = cls(folder)
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        for name, subject in (("ca", "Test CA"), ("wrong-ca", "Another CA")):
            _openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem",
                     "-days", "2", "-subj", f"/CN={subject}", folder=folder)  # fmt: skip
        (folder / "server.ext").write_text(
            f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        )
        (folder / "client.ext").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n"
        )
        for name, ca, kind in (
            ("server", "ca", "server"),
            ("client", "ca", "client"),
            ("stranger", "wrong-ca", "client"),
        ):
            _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                     "-subj", f"/CN={name}", folder=folder)  # fmt: skip
            _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                     f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                     "-extfile", f"{kind}.ext", folder=folder)  # fmt: skip
        return made


class TlsProxy:
    """nginx terminating TLS for ``upstream`` (host:port): ``tls_address`` checks nothing of the
    client, ``mtls_address`` requires a client certificate signed by the test CA."""

    def __init__(self, children: Children, certificates: Certificates, upstream: str) -> None:
        self.children = children
        self.certificates = certificates
        self.upstream = upstream
        self.tls_address = f"127.0.0.1:{free_port()}"
        self.mtls_address = f"127.0.0.1:{free_port()}"
        self.child: Child | None = None

    def _config(self) -> str:
        c, folder = self.certificates, self.certificates.folder
        common = (
            f"ssl_certificate {c.server_cert}; ssl_certificate_key {c.server_key}; "
            f"ssl_alpn h2; proxy_pass {self.upstream};"
        )
        return (
            f"load_module {STREAM_MODULE};\n"
            f"daemon off; master_process off; worker_processes 1; pid {folder}/nginx.pid;\n"
            f"error_log stderr notice;\n"
            "events { worker_connections 512; }\n"
            "stream {\n"
            f"  server {{ listen {self.tls_address} ssl; {common} }}\n"
            f"  server {{ listen {self.mtls_address} ssl; {common}\n"
            f"    ssl_client_certificate {c.ca}; ssl_verify_client on; }}\n"
            "}\n"
        )

    async def start(self, within: float = 20.0) -> None:
        nginx = tools()
        config = self.certificates.folder / "nginx.conf"
        config.write_text(self._config())
        self.child = self.children.start(
            "nginx",
            [nginx, "-c", str(config), "-e", "stderr", "-p", str(self.certificates.folder)],
            env={"PATH": "/usr/sbin:/usr/bin:/bin"},
        )
        await until_listening(self.child, [self.tls_address, self.mtls_address], within)


async def until_listening(child: Child, addresses: list[str], within: float) -> None:
    """Return once something accepts connections at each of ``addresses`` (host:port); fail
    with the tail of ``child``'s log when it exits first or ``within`` seconds pass."""

    async def listening() -> bool:
        for address in addresses:
            host, port = address.rsplit(":", 1)
            try:
                _, writer = await asyncio.open_connection(host, int(port))
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
        return True

    await child.until_ready(listening, within)
