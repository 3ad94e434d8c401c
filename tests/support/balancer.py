"""A real HTTP load balancer (nginx, round robin) in front of several bot replicas.

Telegram posts every update to one webhook URL; behind it, any replica may answer. nginx passes
a request on to the next replica when one refuses the connection (a replica killed or
restarting), as a production load balancer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.support.processes import Child, Children, free_port
from tests.support.tls import tools, until_listening


class LoadBalancer:
    """nginx on ``address``, spreading requests over ``upstreams`` (host:port each)."""

    def __init__(self, children: Children, folder: Path, upstreams: Sequence[str]) -> None:
        self.children = children
        self.folder = folder
        self.upstreams = list(upstreams)
        self.address = f"127.0.0.1:{free_port()}"
        self.child: Child | None = None

    def _config(self) -> str:
        servers = " ".join(f"server {u} max_fails=1 fail_timeout=30s;" for u in self.upstreams)
        temp = " ".join(
            f"{kind}_temp_path {self.folder}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return (
            f"daemon off; master_process off; worker_processes 1; pid {self.folder}/lb.pid;\n"
            "error_log stderr notice;\n"
            "events { worker_connections 512; }\n"
            f"http {{ access_log off; {temp}\n"
            f"  upstream bots {{ {servers} }}\n"
            f"  server {{ listen {self.address};\n"
            "    location / { proxy_pass http://bots; proxy_next_upstream error timeout; } }\n"
            "}\n"
        )

    async def start(self, within: float = 20.0) -> None:
        nginx = tools(proxy=False, nginx=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "lb.conf"
        config.write_text(self._config())
        self.child = self.children.start(
            "load-balancer",
            [nginx, "-c", str(config), "-e", "stderr", "-p", str(self.folder)],
            env={"PATH": "/usr/sbin:/usr/bin:/bin"},
        )
        await until_listening(self.child, [self.address], within)
