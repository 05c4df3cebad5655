"""`kt2ref SERVICE --config FILE`: run one of the reference services under uvicorn."""

import argparse
import json
import os

import uvicorn

SERVICES = {
    "resource-service": "kt2ref.resource_service.app:create_app",
    "kt13-server": "kt2ref.kt13.app:create_app",
    "app-service": "kt2ref.apps.app:create_app",
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
    uvicorn.run(SERVICES[args.service], factory=True, host=listen.get("host", "127.0.0.1"),
                port=int(listen.get("port", 8080)), workers=int(config.get("workers", 1)),
                log_level="warning", access_log=False, proxy_headers=True)


if __name__ == "__main__":
    main()
