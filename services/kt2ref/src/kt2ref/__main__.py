"""`kt2ref SERVICE --config FILE`: run one of the reference services under uvicorn."""

import argparse
import json
import os
from multiprocessing import resource_tracker

import uvicorn

SERVICES = {
    "kt13-server": "kt2ref.kt13.app:create_app",
    "app-service": "kt2ref.apps.app:create_app",
    "auth-service": "kt2ref.auth_service.app:create_app",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="kt2ref", description=__doc__)
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("--config", required=True, help="the service's JSON configuration file")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        config = json.load(handle)
    # Workers import the app factory anew; they find the configuration through the environment.
    os.environ["KT2REF_CONFIG"] = os.path.abspath(args.config)
    listen = config.get("listen", {})
    try:
        uvicorn.run(SERVICES[args.service], factory=True, host=listen.get("host", "127.0.0.1"),
                    port=int(listen.get("port", 8080)), workers=int(config.get("workers", 1)),
                    log_level="warning", access_log=False, proxy_headers=True)
    finally:
        # With several workers multiprocessing runs a resource tracker that would outlive this process.
        # Stopped and reaped here, nothing is left when systemd sees the main process go: where it cannot
        # tell that a unit's cgroup is empty (systemd in a container on cgroup v1, like the lab), a stop
        # otherwise waits out TimeoutStopSec (90 s) for every restart.
        resource_tracker._resource_tracker._stop()


if __name__ == "__main__":
    main()
