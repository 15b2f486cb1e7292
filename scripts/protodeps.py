"""Copy the google/api and google/rpc protos our contracts import from the installed
googleapis-common-protos wheel into protos/google (buf and protoc read them from there)."""
from __future__ import annotations

import pathlib
import shutil

import google.api
import google.rpc

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = {
    "api": ["annotations.proto", "http.proto", "httpbody.proto", "field_behavior.proto"],
    "rpc": ["status.proto", "error_details.proto", "code.proto"],
}


def main() -> None:
    for pkg, names in FILES.items():
        src = pathlib.Path((google.api if pkg == "api" else google.rpc).__path__[0])
        dst = ROOT / "protos" / "google" / pkg
        dst.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(src / name, dst / name)
    print("copied google/api and google/rpc protos from googleapis-common-protos")


if __name__ == "__main__":
    main()
