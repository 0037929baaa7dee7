"""A real S3-compatible server for the tests: moto's server mode (``moto[server]``) on a free local port, in a
thread of the test process, speaking the S3 HTTP API that boto3 (and any S3 client) talks to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ACCESS_KEY, SECRET_KEY, REGION = "test-access-key", "test-secret-key", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def settings(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The PHOTO_STORE settings pointing at a bucket of this server."""
        return {"PHOTO_STORE": f"s3://{bucket}/{prefix}".rstrip("/"), "PHOTO_S3_ENDPOINT": self.endpoint,
                "PHOTO_S3_REGION": REGION, "PHOTO_S3_ACCESS_KEY": ACCESS_KEY, "PHOTO_S3_SECRET_KEY": SECRET_KEY}


@contextmanager
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()
