"""xenlab: build and verify the classic Xen live-migration lab (see docs/DESIGN.md)."""
from xenlab.errors import XenlabError
from xenlab.inventory import HostSpec, Lab, box_inventory_path, load_lab, load_labs
from xenlab.remote import Host, Result

__version__ = "0.1.0"
__all__ = ["Host", "HostSpec", "Lab", "Result", "XenlabError", "box_inventory_path",
           "load_lab", "load_labs"]
