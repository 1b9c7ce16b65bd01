"""Adapters where the lab's software varies, each picked per host by detection (like
testinfra's Service -> Systemd/SysV): the Xen toolstack (xl, xm) and the iSCSI target
software (tgt, LIO). Everything above them speaks the base class's capability methods and
never compares command text.

Each adapter also tells the verify-mode write guard which of its commands write
(`writing_word`): the guard learns them from here, not from a list of its own.
"""
from xenlab.adapters.target import (Export, ExportedLun, IscsiTarget, Lio, Tgt, WantedExport,
                                    detect_target)
from xenlab.adapters.toolstack import Toolstack, Toolstacks, Xl, Xm, detect

__all__ = ["IscsiTarget", "Export", "ExportedLun", "Tgt", "Lio", "WantedExport", "detect_target",
           "Toolstack", "Toolstacks", "Xl", "Xm", "detect"]
