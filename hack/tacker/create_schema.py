"""Creates Tacker's database schema in SQLite: usage create_schema.py sqlite:///PATH

Tacker's alembic migrations alter columns, which SQLite cannot do, so the tables are made from the SQLAlchemy
models of both API generations; hack/tacker-tree.sh then stamps the migration head.
"""
import sys

import sqlalchemy

from tacker.db import model_base
from tacker.db.db_sqlalchemy import models as v1_models
from tacker.db.migration.models import head  # noqa: F401 (registers the nfvo/vnfm models)
from tacker.sol_refactored.db.sqlalchemy import models as v2_models

engine = sqlalchemy.create_engine(sys.argv[1])
metadatas = {model_base.BASE.metadata}
for module in (v1_models, v2_models):
    for value in vars(module).values():
        md = getattr(value, 'metadata', None)
        if isinstance(md, sqlalchemy.MetaData):
            metadatas.add(md)
for md in metadatas:
    md.create_all(engine)
print(len(sqlalchemy.inspect(engine).get_table_names()), 'tables')
