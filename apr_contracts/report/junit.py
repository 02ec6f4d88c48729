"""`--format junit`: JUnit XML for test dashboards. One testsuite per contract, one testcase per falsifier.

FALSIFIED -> <failure>, ERROR -> <error>, SKIPPED / OUT_OF_SCOPE / NOT_BOUND / no current evidence -> <skipped>.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

# Characters XML 1.0 forbids (ANSI escapes in tracebacks, NULs in counterexamples).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _details(f: Any) -> str:
    parts = [f.message]
    if f.counterexample is not None:
        parts.append("counterexample: " + json.dumps(f.counterexample, sort_keys=True, default=repr))
    if f.measured:
        parts.append("measured: " + json.dumps(f.measured, sort_keys=True, default=repr))
    if f.thresholds:
        parts.append("thresholds: " + json.dumps(f.thresholds, sort_keys=True, default=repr))
    if f.traceback:
        parts.append(f.traceback)
    return _xml("\n".join(p for p in parts if p))


def render(board: Any) -> str:
    root = ET.Element("testsuites", name="pv scoreboard")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for c in board.contracts:
        suite = ET.SubElement(root, "testsuite", name=_xml(c.id), file=_xml(c.file))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        time_total = 0.0
        props = ET.SubElement(suite, "properties")
        for key, value in (("derived_status", c.derived_status.value), ("declared_status", c.declared_status or ""),
                           ("version", c.version or "")):
            ET.SubElement(props, "property", name=key, value=_xml(value))
        for f in c.falsifiers:
            case = ET.SubElement(suite, "testcase", classname=_xml(c.id), name=_xml(f.id), time=f"{f.duration_s:.3f}")
            counts["tests"] += 1
            time_total += f.duration_s
            label = f.label
            if label == "FALSIFIED":
                node = ET.SubElement(case, "failure", message=_xml(f.message[:500]) or "FALSIFIED", type="FALSIFIED")
                node.text = _details(f)
                counts["failures"] += 1
            elif label == "ERROR":
                node = ET.SubElement(case, "error", message=_xml(f.message[:500]) or "ERROR", type="ERROR")
                node.text = _details(f)
                counts["errors"] += 1
            elif label != "HELD":
                reason = {"STALE": "stale: evidence only for an older text of this claim",
                          "PENDING": "no evidence yet for this claim"}.get(label, f"{label}: {f.message}")
                ET.SubElement(case, "skipped", message=_xml(reason[:500]))
                counts["skipped"] += 1
            elif f.measured:
                out = ET.SubElement(case, "system-out")
                out.text = _xml("measured: " + json.dumps(f.measured, sort_keys=True, default=repr))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{time_total:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
