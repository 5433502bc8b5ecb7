"""A throw-away CA, a server certificate for 127.0.0.1 and SPIFFE client certificates,
made with the openssl command line (for the mTLS identity tests)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any


def available() -> bool:
    return shutil.which("openssl") is not None


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class Pki:
    def __init__(self, directory: Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = self.dir / "ca.key"
        self.ca = self.dir / "ca.crt"
        _run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(self.ca_key), "-out", str(self.ca), "-subj", "/CN=egress-policy test CA", "-days", "2",
        )
        self.server_cert, self.server_key = self.issue("server", "IP:127.0.0.1,DNS:localhost")

    def issue(self, name: str, san: str) -> tuple[Path, Path]:
        key, csr, crt, ext = (self.dir / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
        ext.write_text(f"subjectAltName={san}\n")
        _run(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
        )
        _run(
            "x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey", str(self.ca_key),
            "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext),
        )
        return crt, key

    def client(self, spiffe_id: str, name: str) -> ssl.SSLContext:
        crt, key = self.issue(name, f"URI:{spiffe_id}")
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False
        context.load_cert_chain(str(crt), str(key))
        return context

    def downstream_tls(self) -> dict[str, Any]:
        """Envoy transport socket: TLS with a required, CA-verified client certificate."""
        return {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "require_client_certificate": True,
                "common_tls_context": {
                    "tls_certificates": [
                        {
                            "certificate_chain": {"filename": str(self.server_cert)},
                            "private_key": {"filename": str(self.server_key)},
                        }
                    ],
                    "validation_context": {"trusted_ca": {"filename": str(self.ca)}},
                },
            },
        }
