"""Stage 1, the spec: YAML text → positioned nodes (``source``) → a validated pydantic ``Spec``.

``network`` is the network schema, ``train`` the ``train:`` schema (pure data);
``values``, ``layers``, ``expr``, ``prepass`` and ``errors`` are its parts;
``cluster`` holds the options of a multi-process run (``train --distributed``), also pure data.
Imports only :mod:`netspec.diagnostics` and :mod:`netspec.ir` (for enum-like names).
"""
