# Set-up for Colab: fetch the book's code and data when `nnbook` is not installed (a no-op elsewhere).
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("nnbook") is None:
    repo = "https://github.com/nnbook/nnbook"
    subprocess.run(["git", "clone", "--depth=1", repo, "nnbook"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "nnbook[colab]"], check=True)
    sys.path.insert(0, os.path.abspath("nnbook/src"))
    os.chdir("nnbook")
