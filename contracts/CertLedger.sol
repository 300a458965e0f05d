// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title CertLedger
/// @notice Permissioned ledger of Merkle roots for the city's e-certificate library.
/// Departments anchor certificate batches, associations anchor report-summary batches and the
/// platform's audit writer anchors access-log batches. Only hashes go on chain: a root, its leaf
/// count and kind, and per-leaf status codes. No personal data is ever written here.
/// @dev Status codes follow the national e-certificate interface: 01 valid, 02 suspended,
/// 03 revoked, 04 cancelled, 07 withdrawn; 08 marks a version superseded by a renewal or an
/// amendment. Expiry (05) follows from the validity period and is never written.
contract CertLedger is AccessControl {
    /// @notice Role of issuing departments (may anchor certificate batches).
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice Role of industry associations and evaluation agencies (may anchor report summaries).
    bytes32 public constant ASSOCIATION_ROLE = keccak256("ASSOCIATION_ROLE");
    /// @notice Role of the platform's audit writer (may anchor access-log batches).
    bytes32 public constant AUDIT_WRITER_ROLE = keccak256("AUDIT_WRITER_ROLE");

    /// @notice What a registered organization is.
    enum OrgKind {
        None,
        Department,
        Association,
        AuditWriter
    }

    /// @notice What an anchored batch holds.
    enum BatchKind {
        None,
        Certificates,
        ReportSummaries,
        AccessLog
    }

    uint8 public constant STATUS_VALID = 1;
    uint8 public constant STATUS_SUSPENDED = 2;
    uint8 public constant STATUS_REVOKED = 3;
    uint8 public constant STATUS_CANCELLED = 4;
    uint8 public constant STATUS_WITHDRAWN = 7;
    uint8 public constant STATUS_SUPERSEDED = 8;

    struct Organization {
        uint32 id;
        OrgKind kind;
        bool active;
        bytes32 usccHash;
        bytes32 sealFingerprint;
    }

    /// @dev Packed into one storage slot so that an anchor costs a single new SSTORE.
    struct Anchor {
        uint32 orgId;
        uint32 leafCount;
        BatchKind kind;
        uint40 blockNumber;
        uint40 timestamp;
    }

    mapping(address account => Organization) private _orgs;
    mapping(uint32 orgId => address account) private _accountOf;
    uint32 private _orgCount;

    mapping(bytes32 root => Anchor) private _anchors;
    mapping(bytes32 root => mapping(bytes32 leaf => uint8 status)) private _status;

    error ZeroAddress();
    error InvalidOrganizationKind(uint8 kind);
    error OrganizationAlreadyRegistered(address account);
    error UnknownOrganization(address account);
    error OrganizationInactive(address account);
    error OrganizationAlreadyActive(address account);
    error SameSealFingerprint(address account);
    error ZeroRoot();
    error EmptyBatch();
    error InvalidBatchKind(uint8 kind);
    error BatchKindNotAllowed(address account, uint8 kind);
    error RootAlreadyAnchored(bytes32 root);
    error UnknownRoot(bytes32 root);
    error NotRootIssuer(bytes32 root, address caller);
    error InvalidStatus(uint8 status);
    error StatusTransitionNotAllowed(bytes32 root, bytes32 leaf, uint8 from, uint8 to);
    error LengthMismatch(uint256 roots, uint256 leaves);

    /// @notice An organization's chain account was registered.
    event OrganizationRegistered(
        address indexed account, uint32 indexed orgId, OrgKind kind, bytes32 usccHash, bytes32 sealFingerprint
    );
    /// @notice An organization's seal certificate was replaced; the old fingerprint stays in this event.
    event SealRotated(address indexed account, bytes32 oldFingerprint, bytes32 newFingerprint);
    /// @notice An organization may no longer anchor or change statuses.
    event OrganizationDeactivated(address indexed account);
    /// @notice A deactivated organization was allowed to write again.
    event OrganizationReactivated(address indexed account);
    /// @notice A Merkle root was anchored.
    event Anchored(bytes32 indexed root, address indexed issuer, BatchKind kind, uint32 leafCount);
    /// @notice A leaf's status changed.
    event StatusChanged(bytes32 indexed root, bytes32 indexed leaf, uint8 status, uint16 reason);

    /// @param admin The platform administrator's account.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ organizations

    /// @notice Register an organization's chain account and grant the role its kind implies.
    /// @param account The organization's chain account.
    /// @param kind Department, Association or AuditWriter.
    /// @param usccHash keccak256 of the organization's unified social credit code.
    /// @param sealFingerprint SHA-256 of the organization's current seal certificate (DER).
    function registerOrganization(address account, OrgKind kind, bytes32 usccHash, bytes32 sealFingerprint)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (account == address(0)) revert ZeroAddress();
        if (kind == OrgKind.None) revert InvalidOrganizationKind(uint8(kind));
        if (_orgs[account].id != 0) revert OrganizationAlreadyRegistered(account);
        uint32 id = ++_orgCount;
        _orgs[account] = Organization(id, kind, true, usccHash, sealFingerprint);
        _accountOf[id] = account;
        _grantRole(_roleOf(kind), account);
        emit OrganizationRegistered(account, id, kind, usccHash, sealFingerprint);
    }

    /// @notice Record a new seal certificate for an organization (seal rotation).
    /// @param account The organization's chain account.
    /// @param newFingerprint SHA-256 of the new seal certificate (DER).
    function rotateSeal(address account, bytes32 newFingerprint) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Organization storage org = _registered(account);
        bytes32 old = org.sealFingerprint;
        if (old == newFingerprint) revert SameSealFingerprint(account);
        org.sealFingerprint = newFingerprint;
        emit SealRotated(account, old, newFingerprint);
    }

    /// @notice Stop an organization from anchoring or changing statuses. Its anchors stay.
    /// @param account The organization's chain account.
    function deactivateOrganization(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Organization storage org = _registered(account);
        if (!org.active) revert OrganizationInactive(account);
        org.active = false;
        _revokeRole(_roleOf(org.kind), account);
        emit OrganizationDeactivated(account);
    }

    /// @notice Allow a deactivated organization to write again.
    /// @param account The organization's chain account.
    function reactivateOrganization(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Organization storage org = _registered(account);
        if (org.active) revert OrganizationAlreadyActive(account);
        org.active = true;
        _grantRole(_roleOf(org.kind), account);
        emit OrganizationReactivated(account);
    }

    /// @notice An organization's registration.
    /// @param account The organization's chain account.
    /// @return The organization (id 0 when the account is not registered).
    function organization(address account) external view returns (Organization memory) {
        return _orgs[account];
    }

    // ------------------------------------------------------------------ anchoring

    /// @notice Anchor a Merkle root of `leafCount` leaves. A root can be anchored only once.
    /// @param root The batch's Merkle root (OpenZeppelin StandardMerkleTree format).
    /// @param leafCount How many leaves the batch holds.
    /// @param kind Certificates (departments), ReportSummaries (associations) or AccessLog (audit writer).
    function anchor(bytes32 root, uint32 leafCount, BatchKind kind) external {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch();
        Organization storage org = _orgs[msg.sender];
        if (org.id == 0) revert UnknownOrganization(msg.sender);
        if (!org.active) revert OrganizationInactive(msg.sender);
        if (kind == BatchKind.None || uint8(kind) != uint8(org.kind)) {
            revert BatchKindNotAllowed(msg.sender, uint8(kind));
        }
        if (_anchors[root].orgId != 0) revert RootAlreadyAnchored(root);
        _anchors[root] = Anchor(org.id, leafCount, kind, uint40(block.number), uint40(block.timestamp));
        emit Anchored(root, msg.sender, kind, leafCount);
    }

    /// @notice A root's anchor.
    /// @param root The Merkle root.
    /// @return issuer The account that anchored it (zero when unknown).
    /// @return leafCount The batch's leaf count.
    /// @return kind What the batch holds.
    /// @return blockNumber The block that anchored it.
    /// @return timestamp That block's timestamp.
    function anchorOf(bytes32 root)
        public
        view
        returns (address issuer, uint32 leafCount, BatchKind kind, uint64 blockNumber, uint64 timestamp)
    {
        Anchor memory a = _anchors[root];
        return (_accountOf[a.orgId], a.leafCount, a.kind, a.blockNumber, a.timestamp);
    }

    // ------------------------------------------------------------------ status

    /// @notice Change one leaf's status. Only the account that anchored `root` may do this.
    /// @param root The leaf's Merkle root.
    /// @param leaf The leaf hash.
    /// @param status 1 (reinstate a suspended leaf), 2, 3, 4, 7 or 8.
    /// @param reason A reason code recorded in the event.
    function setStatus(bytes32 root, bytes32 leaf, uint8 status, uint16 reason) external {
        _checkWriter(root);
        _setStatus(root, leaf, status, reason);
    }

    /// @notice Change many leaves' status at once; `roots[i]` is the root of `leaves[i]`.
    /// @param roots The leaves' Merkle roots, all anchored by the caller.
    /// @param leaves The leaf hashes.
    /// @param status The new status for every leaf.
    /// @param reason A reason code recorded in the events.
    function setStatusMany(bytes32[] calldata roots, bytes32[] calldata leaves, uint8 status, uint16 reason)
        external
    {
        if (roots.length != leaves.length) revert LengthMismatch(roots.length, leaves.length);
        if (leaves.length == 0) revert EmptyBatch();
        bytes32 checked;
        for (uint256 i = 0; i < leaves.length; ++i) {
            bytes32 root = roots[i];
            if (root != checked) {
                _checkWriter(root);
                checked = root;
            }
            _setStatus(root, leaves[i], status, reason);
        }
    }

    /// @notice A leaf's status: 1 (valid) unless changed.
    /// @param root The leaf's Merkle root.
    /// @param leaf The leaf hash.
    /// @return The status code.
    function statusOf(bytes32 root, bytes32 leaf) public view returns (uint8) {
        uint8 s = _status[root][leaf];
        return s == 0 ? STATUS_VALID : s;
    }

    /// @notice Check a leaf against an anchored root in one call.
    /// @param root The Merkle root.
    /// @param leaf The leaf hash.
    /// @param proof The sibling hashes from leaf to root.
    /// @return included Whether the proof holds and the root is anchored.
    /// @return issuer The account that anchored the root.
    /// @return blockNumber The anchoring block.
    /// @return timestamp The anchoring block's timestamp.
    /// @return status The leaf's status code.
    function verify(bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool included, address issuer, uint64 blockNumber, uint64 timestamp, uint8 status)
    {
        Anchor memory a = _anchors[root];
        included = a.orgId != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
        return (included, _accountOf[a.orgId], a.blockNumber, a.timestamp, statusOf(root, leaf));
    }

    // ------------------------------------------------------------------ internals

    function _registered(address account) private view returns (Organization storage org) {
        org = _orgs[account];
        if (org.id == 0) revert UnknownOrganization(account);
    }

    function _checkWriter(bytes32 root) private view {
        uint32 orgId = _anchors[root].orgId;
        if (orgId == 0) revert UnknownRoot(root);
        Organization storage org = _orgs[msg.sender];
        if (org.id != orgId) revert NotRootIssuer(root, msg.sender);
        if (!org.active) revert OrganizationInactive(msg.sender);
    }

    function _setStatus(bytes32 root, bytes32 leaf, uint8 status, uint16 reason) private {
        uint8 current = statusOf(root, leaf);
        if (status == STATUS_VALID) {
            if (current != STATUS_SUSPENDED) revert StatusTransitionNotAllowed(root, leaf, current, status);
        } else if (
            status == STATUS_SUSPENDED || status == STATUS_REVOKED || status == STATUS_CANCELLED
                || status == STATUS_WITHDRAWN || status == STATUS_SUPERSEDED
        ) {
            if (current != STATUS_VALID && current != STATUS_SUSPENDED) {
                revert StatusTransitionNotAllowed(root, leaf, current, status);
            }
            if (status == current) revert StatusTransitionNotAllowed(root, leaf, current, status);
        } else {
            revert InvalidStatus(status);
        }
        _status[root][leaf] = status;
        emit StatusChanged(root, leaf, status, reason);
    }

    function _roleOf(OrgKind kind) private pure returns (bytes32) {
        if (kind == OrgKind.Department) return ISSUER_ROLE;
        if (kind == OrgKind.Association) return ASSOCIATION_ROLE;
        return AUDIT_WRITER_ROLE;
    }
}
