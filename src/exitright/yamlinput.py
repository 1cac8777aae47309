"""What every YAML file ExitRight reads (data maps, audit profiles) is checked for first."""

from __future__ import annotations


def has_shared_nodes(data: object) -> bool:
    """Whether a list or mapping occurs twice in parsed YAML.

    Anchors and aliases make one node appear in several places; a "billion laughs" file expands
    to more than memory holds as soon as it is walked, so such files are refused before that.
    """
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                return True
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return False
