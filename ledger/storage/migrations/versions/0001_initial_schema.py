"""Initial schema: organisations, catalogue, certificates, batches, anchoring outbox, chain index.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('chain_anchors',
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('issuer', sa.String(length=42), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('leaf_count', sa.Integer(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('root', name=op.f('pk_chain_anchors'))
    )
    op.create_index(op.f('ix_chain_anchors_issuer'), 'chain_anchors', ['issuer'], unique=False)

    op.create_table('chain_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('args', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_events')),
    sa.UniqueConstraint('tx_hash', 'log_index', name=op.f('uq_chain_events_tx_hash_log_index'))
    )
    op.create_index(op.f('ix_chain_events_block_number'), 'chain_events', ['block_number'], unique=False)

    op.create_table('chain_leaf_status',
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('leaf', sa.LargeBinary(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('root', 'leaf', name=op.f('pk_chain_leaf_status'))
    )
    op.create_table('chain_orgs',
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('uscc_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('seal_fingerprint', sa.LargeBinary(length=32), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_chain_orgs'))
    )
    op.create_index(op.f('ix_chain_orgs_uscc_hash'), 'chain_orgs', ['uscc_hash'], unique=False)

    op.create_table('indexer_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_indexer_cursors'))
    )
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('chain_address', sa.String(length=42), nullable=True),
    sa.Column('keystore', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['organizations.id'], name=op.f('fk_organizations_parent_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('chain_address', name=op.f('uq_organizations_chain_address')),
    sa.UniqueConstraint('uscc', name=op.f('uq_organizations_uscc'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('roles', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_api_keys_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_index(op.f('ix_api_keys_org_id'), 'api_keys', ['org_id'], unique=False)

    op.create_table('batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('leaf_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tx_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('block_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_batches_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    sa.UniqueConstraint('root', name=op.f('uq_batches_root'))
    )
    op.create_index('ix_batches_status_id', 'batches', ['status', 'id'], unique=False)

    op.create_table('certificate_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=21), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('holder_kind', sa.String(length=16), nullable=False),
    sa.Column('validity_years', sa.Integer(), nullable=True),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('template', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['organizations.id'], name=op.f('fk_certificate_types_department_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_types')),
    sa.UniqueConstraint('code', name=op.f('uq_certificate_types_code')),
    sa.UniqueConstraint('name', name=op.f('uq_certificate_types_name'))
    )
    op.create_index(op.f('ix_certificate_types_department_id'), 'certificate_types', ['department_id'], unique=False)

    op.create_table('serial_counters',
    sa.Column('type_code', sa.String(length=21), nullable=False),
    sa.Column('issuer_org_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('next_value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['issuer_org_id'], ['organizations.id'], name=op.f('fk_serial_counters_issuer_org_id_organizations')),
    sa.PrimaryKeyConstraint('type_code', 'issuer_org_id', 'year', name=op.f('pk_serial_counters'))
    )
    op.create_table('service_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('holder_kind', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['organizations.id'], name=op.f('fk_service_items_department_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_items')),
    sa.UniqueConstraint('code', name=op.f('uq_service_items_code'))
    )
    op.create_index(op.f('ix_service_items_department_id'), 'service_items', ['department_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identifier', sa.String(length=96), nullable=False),
    sa.Column('type_code', sa.String(length=21), nullable=False),
    sa.Column('issuer_org_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('holder_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('status', sa.String(length=2), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('metadata', JSON, nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('record_seal', sa.LargeBinary(), nullable=False),
    sa.Column('document_cid', sa.String(length=100), nullable=True),
    sa.Column('document_digest', sa.LargeBinary(length=32), nullable=True),
    sa.Column('document_key', sa.LargeBinary(), nullable=True),
    sa.Column('leaf', sa.LargeBinary(length=32), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('leaf_index', sa.Integer(), nullable=True),
    sa.Column('proof', sa.LargeBinary(), nullable=True),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_certificates_batch_id_batches')),
    sa.ForeignKeyConstraint(['issuer_org_id'], ['organizations.id'], name=op.f('fk_certificates_issuer_org_id_organizations')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['certificates.id'], name=op.f('fk_certificates_supersedes_id_certificates')),
    sa.ForeignKeyConstraint(['type_code'], ['certificate_types.code'], name=op.f('fk_certificates_type_code_certificate_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('identifier', name=op.f('uq_certificates_identifier')),
    sa.UniqueConstraint('issuer_org_id', 'type_code', 'number', 'version', name=op.f('uq_certificates_issuer_org_id_type_code_number_version'))
    )
    op.create_index(op.f('ix_certificates_batch_id'), 'certificates', ['batch_id'], unique=False)
    op.create_index(op.f('ix_certificates_holder_key'), 'certificates', ['holder_key'], unique=False)
    op.create_index('ix_certificates_status_valid_until', 'certificates', ['status', 'valid_until'], unique=False)

    op.create_table('service_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('certificate_type_id', sa.Integer(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_type_id'], ['certificate_types.id'], name=op.f('fk_service_materials_certificate_type_id_certificate_types')),
    sa.ForeignKeyConstraint(['service_item_id'], ['service_items.id'], name=op.f('fk_service_materials_service_item_id_service_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_materials')),
    sa.UniqueConstraint('service_item_id', 'position', name=op.f('uq_service_materials_service_item_id_position'))
    )
    op.create_index(op.f('ix_service_materials_certificate_type_id'), 'service_materials', ['certificate_type_id'], unique=False)

    op.create_table('anchor_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('leaf', sa.LargeBinary(length=32), nullable=False),
    sa.Column('certificate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('leaf_index', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_anchor_outbox_batch_id_batches')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_anchor_outbox_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_anchor_outbox_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anchor_outbox')),
    sa.UniqueConstraint('batch_id', 'leaf_index', name=op.f('uq_anchor_outbox_batch_id_leaf_index'))
    )
    op.create_index('ix_anchor_outbox_claim', 'anchor_outbox', ['kind', 'org_id', 'batch_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('anchor_outbox')
    op.drop_table('service_materials')
    op.drop_table('certificates')
    op.drop_table('service_items')
    op.drop_table('serial_counters')
    op.drop_table('certificate_types')
    op.drop_table('batches')
    op.drop_table('api_keys')
    op.drop_table('organizations')
    op.drop_table('indexer_cursors')
    op.drop_table('chain_orgs')
    op.drop_table('chain_leaf_status')
    op.drop_table('chain_events')
    op.drop_table('chain_anchors')
