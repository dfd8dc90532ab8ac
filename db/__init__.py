"""Persistence for TALE Explorer: every experiment and every model call in SQLite (default) or PostgreSQL.

The pure library ``tale_core`` never imports this package; it plugs in through ``tale_core.protocols``:

* :class:`db.store.Store` -- experiments, calls, datasets, call cache (``Store(url=None)``; the URL comes
  from ``TALE_DATABASE_URL`` or is ``<TALE_DATA_DIR>/tale.db``). Migrates the schema on first use.
* :class:`db.recorder.Recorder` -- an experiment being recorded: ``.id``, ``.sink`` (CallSink),
  ``.cache`` (CallCache), ``.done_cell_ids()`` for resume, ``.finish(status, summary)``.
* :class:`db.cache.DbCallCache` -- ``tale_core.protocols.CallCache`` over the ``call_cache`` table.
* :mod:`db.bundle` -- ``export_bytes(id)`` / ``import_bundle(data)``: versioned JSON bundles.
* :mod:`db.migrate` -- alembic upgrade / drift check; :mod:`db.cli` -- ``experiments`` and ``db`` commands.
* :mod:`db.scrub` -- keeps API keys out of rows and bundles (``register_secret`` for keys typed at run time).
"""
