"""A real coturn (Debian's ``turnserver``) for tests, with the TURN REST API
shared secret and optionally TLS with a self-signed certificate.

Started on free ports with a generated configuration, stopped by its PID.
``command_prefix`` runs it elsewhere, e.g. ``("ip", "netns", "exec", NAME)``
for a network namespace a test made (then ``listen_ip`` is an address there
and readiness is checked from inside that namespace too).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TEST_TURN_SECRET = "test-turn-secret-0123456789abcdef"
TEST_REALM = "conf.test"


def free_tcp_udp_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on ``host`` (coturn listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP")


class SelfSignedCertificate:
    """A self-signed certificate for ``names`` (DNS names or IP addresses)."""

    def __init__(self, directory: Path, names: Sequence[str]) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        alternative: list[x509.GeneralName] = []
        for name in names:
            try:
                alternative.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternative.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .sign(key, hashes.SHA256())
        )
        self.cert_path = directory / "turn-cert.pem"
        self.key_path = directory / "turn-key.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        #: For Chromium's ``--ignore-certificate-errors-spki-list=``: trusts this
        #: certificate (and no other) without installing a CA.
        self.spki_sha256 = base64.b64encode(hashlib.sha256(spki).digest()).decode()


class CoturnServer:
    """``turnserver`` with ``use-auth-secret``; ``stop()`` ends it.

    ``port`` takes TURN over UDP and TCP; with ``certificate``, ``tls_port``
    takes TURN over TLS. ``relay_ip`` is where relayed media leaves from.
    """

    def __init__(
        self,
        directory: Path,
        *,
        listen_ip: str = "127.0.0.1",
        relay_ip: str | None = None,
        secret: str = TEST_TURN_SECRET,
        certificate: SelfSignedCertificate | None = None,
        command_prefix: Sequence[str] = (),
        port: int | None = None,
        tls_port: int | None = None,
        extra: Sequence[str] = (),
        config: Sequence[str] | None = None,
    ) -> None:
        binary = shutil.which("turnserver")
        if binary is None:
            raise RuntimeError("coturn is not installed (scripts/setup.sh --test installs it)")
        self.listen_ip = listen_ip
        self.secret = secret
        self.port = port or free_tcp_udp_port(listen_ip if not command_prefix else "127.0.0.1")
        self.tls_port = (tls_port or free_tcp_udp_port()) if certificate else None
        self.log_path = directory / "turnserver.log"
        lines = [
            f"listening-ip={listen_ip}",
            f"relay-ip={relay_ip or listen_ip}",
            f"listening-port={self.port}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={TEST_REALM}",
            "fingerprint",
            "no-cli",
            "no-dtls",
            "no-multicast-peers",
            "no-software-attribute",
            f"log-file={self.log_path}",
            "simple-log",
            "verbose",
            # Tests put everything on private or loopback addresses; production
            # configurations deny those (docs/operations.md, "Connectivity").
            "allow-loopback-peers",
            "min-port=49152",
            "max-port=65535",
            *extra,
        ]
        if config is not None:
            # A configuration of its own (e.g. the operators' guide's): only
            # the ports and the log are ours.
            lines = [*config, f"listening-port={self.port}", f"log-file={self.log_path}"]
            lines.append("simple-log")
            if self.tls_port is not None:
                lines.append(f"tls-listening-port={self.tls_port}")
        elif certificate is not None:
            lines += [
                f"tls-listening-port={self.tls_port}",
                f"cert={certificate.cert_path}",
                f"pkey={certificate.key_path}",
            ]
        else:
            lines.append("no-tls")
        self.config_path = directory / "turnserver.conf"
        self.config_path.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            [*command_prefix, binary, "-c", str(self.config_path), "--no-stdout-log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._command_prefix = tuple(command_prefix)
        self._wait_listening()

    def _listening(self) -> bool:
        if self._command_prefix:
            probe = (
                "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5)"
            )
            done = subprocess.run(
                [*self._command_prefix, "python3", "-c", probe, self.listen_ip, str(self.port)],
                capture_output=True,
            )
            return done.returncode == 0
        try:
            with socket.create_connection((self.listen_ip, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnserver exited: {self.log_text()[-2000:]}")
            if self._listening():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("turnserver did not start listening within 20 s")

    def urls(self, transports: Sequence[str] = ("udp", "tcp")) -> list[str]:
        """``turn:`` URLs of this server per transport, and ``turns:`` with TLS."""
        host = self.listen_ip
        found = [f"turn:{host}:{self.port}?transport={t}" for t in transports]
        if self.tls_port is not None:
            found.append(f"turns:{host}:{self.tls_port}?transport=tcp")
        return found

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
