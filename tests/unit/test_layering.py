"""The filter's plain-data layer stands alone: no ORM, no GraphQL (DESIGN.md's boundary)."""

import subprocess
import sys

CHECK = """
import sys
import app.filters.ast, app.filters.codec, app.filters.describe
roots = {name.split(".")[0] for name in sys.modules}
loaded = sorted(roots & {"tortoise", "strawberry", "graphql"})
print(",".join(loaded))
"""


def test_the_filter_ast_and_codec_import_neither_tortoise_nor_strawberry() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_worker_package_never_needs_the_graphql_layer() -> None:
    check = "import sys, worker.tasks; print('app.graphql' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
