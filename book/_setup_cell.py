# Set-up: on Colab, fetch the book's code and data once; elsewhere, say how to install them.
import importlib.util, os, subprocess, sys
repo = "https://github.com/nnbook/nnbook"
if importlib.util.find_spec("nnbook") is None and "google.colab" in sys.modules:
    if not os.path.isdir("nnbook"):  # a re-run after a failed install reuses the clone
        subprocess.run(["git", "clone", "--depth=1", repo, "nnbook"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "nnbook[colab]"], check=True)
    sys.path.insert(0, os.path.abspath("nnbook/src"))
    os.chdir("nnbook")
elif importlib.util.find_spec("nnbook") is None:
    raise ModuleNotFoundError(f"this notebook needs the book's package: git clone {repo}, then "
                              "pip install -e 'nnbook[colab]' and restart the kernel (see the README)")
