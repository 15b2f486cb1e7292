"""Generate the Python code for the contracts in protos/ (the build's only code generator).

The output is committed under ``nerava/`` and CI regenerates it and fails on any difference
(``make check-gen``), so the generated code never drifts from the protos.
"""
from __future__ import annotations

import pathlib
import shutil
import sys

import grpc_tools
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "nerava"


def main() -> int:
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "nerava").rglob("*.proto"))
    if not sources:
        print("no protos found under protos/nerava", file=sys.stderr)
        return 1
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    wkt = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{wkt}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        # with comments, for the gateway's OpenAPI and for Envoy's gRPC-JSON transcoder
        f"--descriptor_set_out={OUT / 'descriptors.binpb'}",
        "--include_imports",
        "--include_source_info",
        *sources,
    ]
    rc = protoc.main(args)
    if rc != 0:
        print(f"protoc failed with {rc}", file=sys.stderr)
        return rc
    for folder in [OUT, *[p for p in OUT.rglob("*") if p.is_dir()]]:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")
    print(f"generated {len(sources)} proto files into {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
