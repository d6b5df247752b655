"""The staff package keeps Flask in ``kapbook_platform.staff.web``: use cases import the rest."""
import subprocess
import sys

FLASK_FREE = ("audit", "principal", "projection", "tables", "tokens")


def test_only_the_web_module_of_the_staff_package_imports_flask():
    imports = "; ".join(f"import kapbook_platform.staff.{name}" for name in FLASK_FREE)
    probe = f"import sys; import kapbook_platform.staff; {imports}; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
