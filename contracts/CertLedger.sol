// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title CertLedger
/// @notice Permissioned ledger of Merkle roots for the city's e-certificate library.
/// Departments anchor certificate batches, associations anchor report-summary batches and the
/// platform's audit writer anchors access-log batches. Only hashes go on chain: a root, its leaf
/// count and kind, per-leaf status codes, credit-code hashes and seal-certificate fingerprints.
/// No personal data is ever written here.
/// @dev Who may write is the role of the organization's kind (ISSUER_ROLE, ASSOCIATION_ROLE,
/// AUDIT_WRITER_ROLE) and nothing else: `Organization.active` is a copy of that role kept by the
/// `_grantRole`/`_revokeRole` overrides, so revoking or renouncing the role is deactivation and
/// granting it back is reactivation. Anchors and statuses are keyed by (issuer, root): a root
/// anchored by one account never blocks or touches another's. Status codes follow the national
/// e-certificate interface: 01 valid, 02 suspended, 03 revoked, 04 cancelled, 07 withdrawn; 08 marks
/// a version superseded by a renewal or an amendment; 00 means no such anchored root. Expiry (05)
/// follows from the validity period and is never written.
contract CertLedger is AccessControlDefaultAdminRules {
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

    /// @notice What an anchored batch holds; an organization anchors the kind of the same number only.
    enum BatchKind {
        None,
        Certificates,
        ReportSummaries,
        AccessLog
    }

    /// @notice 00: the issuer never anchored the root (or the proof fails); never written.
    uint8 public constant STATUS_NONE = 0;
    /// @notice 01 valid (any leaf of an anchored root, unless changed).
    uint8 public constant STATUS_VALID = 1;
    /// @notice 02 suspended (the only status from which 01 can come back).
    uint8 public constant STATUS_SUSPENDED = 2;
    /// @notice 03 revoked (final).
    uint8 public constant STATUS_REVOKED = 3;
    /// @notice 04 cancelled (final).
    uint8 public constant STATUS_CANCELLED = 4;
    /// @notice 07 withdrawn (final).
    uint8 public constant STATUS_WITHDRAWN = 7;
    /// @notice 08 superseded by a renewal or an amendment (final).
    uint8 public constant STATUS_SUPERSEDED = 8;
    /// @dev Bit n set: status code n can be written.
    uint256 private constant WRITABLE_STATUSES = 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 7 | 1 << 8;

    /// @dev One storage slot: all that `anchor` and `setStatus` read, loaded at once.
    struct Organization {
        OrgKind kind;
        bool active; // holds the role of its kind
        bool sealRevoked; // the seal of `sealEpoch` is revoked
        uint32 sealEpoch; // 1 at registration, +1 per seal rotation
    }

    /// @dev One storage slot, so that an anchor costs a single new SSTORE; `anchor` writes it as
    /// one word in this layout (leafCount in the lowest bits): keep the two in step.
    struct Anchor {
        uint32 leafCount; // 0: not anchored
        BatchKind kind;
        uint32 sealEpoch; // the issuer's seal epoch at anchoring
        uint40 blockNumber;
        uint40 timestamp;
    }

    /// @dev An anchor and the statuses of its leaves, found with one mapping lookup.
    struct Batch {
        Anchor anchor;
        mapping(bytes32 leaf => uint8 status) statuses;
    }

    /// @dev One storage slot per seal-certificate fingerprint.
    struct Seal {
        address account;
        uint32 epoch;
        uint64 compromiseTime; // 0: not revoked
    }

    mapping(address account => Organization) private _orgs;
    mapping(address account => bytes32 usccHash) private _usccHashOf;
    mapping(bytes32 usccHash => address account) private _activeAccount;
    mapping(bytes32 usccHash => address[] accounts) private _accounts;
    mapping(address account => mapping(uint32 epoch => bytes32 fingerprint)) private _sealAt;
    mapping(bytes32 fingerprint => Seal) private _seals;
    mapping(address issuer => mapping(bytes32 root => Batch)) private _batches;

    error ZeroAddress();
    error InvalidOrganizationKind(uint8 kind);
    error OrganizationAlreadyRegistered(address account);
    error UnknownOrganization(address account);
    error OrganizationInactive(address account);
    error OrganizationAlreadyActive(address account);
    error CreditCodeHasActiveAccount(bytes32 usccHash, address account);
    error RoleNotOfOrganizationKind(address account, bytes32 role);
    error ZeroFingerprint();
    error SealAlreadyRegistered(bytes32 fingerprint, address account);
    error SealNotOfOrganization(address account, bytes32 fingerprint);
    error InvalidCompromiseTime();
    error SealAlreadyRevoked(bytes32 fingerprint, uint64 compromiseTime);
    error CurrentSealRevoked(address account);
    error ZeroRoot();
    error EmptyBatch();
    error BatchKindNotAllowed(address account, uint8 kind);
    error RootAlreadyAnchored(address issuer, bytes32 root);
    error UnknownRoot(address issuer, bytes32 root);
    error InvalidStatus(uint8 status);
    error StatusTransitionNotAllowed(bytes32 root, bytes32 leaf, uint8 from, uint8 to);
    error LengthMismatch(uint256 roots, uint256 leaves);

    /// @notice An organization's chain account was registered (and given its kind's role).
    event OrganizationRegistered(
        address indexed account, OrgKind kind, bytes32 indexed usccHash, bytes32 sealFingerprint
    );
    /// @notice An organization's seal certificate was replaced; `epoch` is the new seal's.
    event SealRotated(address indexed account, uint32 epoch, bytes32 oldFingerprint, bytes32 newFingerprint);
    /// @notice A seal certificate was revoked: seals made with it at or after `compromiseTime` are void.
    event SealRevoked(address indexed account, bytes32 indexed fingerprint, uint64 compromiseTime);
    /// @notice A Merkle root was anchored by `issuer`.
    event Anchored(bytes32 indexed root, address indexed issuer, BatchKind kind, uint32 leafCount);
    /// @notice The status of a leaf under `issuer`'s anchor of `root` changed.
    event StatusChanged(
        address indexed issuer, bytes32 indexed root, bytes32 indexed leaf, uint8 status, uint16 reason
    );

    /// @param initialDelay Seconds a new administrator must wait to accept a transfer (two-step).
    /// @param admin The platform administrator's account.
    constructor(uint48 initialDelay, address admin) AccessControlDefaultAdminRules(initialDelay, admin) {}

    // ------------------------------------------------------------------ organizations

    /// @notice Register an organization's chain account and grant the role its kind implies.
    /// A credit code has at most one active account: to replace one, deactivate it first.
    /// @param account The organization's chain account (never registered before).
    /// @param kind Department, Association or AuditWriter.
    /// @param usccHash keccak256 of the organization's unified social credit code.
    /// @param sealFingerprint SHA-256 of its seal certificate (DER), its seal of epoch 1;
    /// zero for an organization that seals nothing (the audit writer).
    function registerOrganization(address account, OrgKind kind, bytes32 usccHash, bytes32 sealFingerprint)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (account == address(0)) revert ZeroAddress();
        if (kind == OrgKind.None) revert InvalidOrganizationKind(uint8(kind));
        Organization storage org = _orgs[account];
        if (org.kind != OrgKind.None) revert OrganizationAlreadyRegistered(account);
        org.kind = kind;
        org.sealEpoch = 1;
        _usccHashOf[account] = usccHash;
        if (sealFingerprint != bytes32(0)) _addSeal(account, 1, sealFingerprint);
        _accounts[usccHash].push(account);
        _grantRole(_roleOf(kind), account);
        emit OrganizationRegistered(account, kind, usccHash, sealFingerprint);
    }

    /// @notice Record a new seal certificate for an organization (seal rotation): from this block
    /// on its anchors carry the new seal epoch, so leaves sealed with the old seal must be anchored
    /// before. Rotation clears a revocation of the old seal for anchoring; it revokes nothing.
    /// @param account The organization's chain account.
    /// @param newFingerprint SHA-256 of the new seal certificate (DER); never registered before.
    function rotateSeal(address account, bytes32 newFingerprint) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Organization storage org = _registered(account);
        uint32 epoch = org.sealEpoch + 1;
        _addSeal(account, epoch, newFingerprint);
        org.sealEpoch = epoch;
        org.sealRevoked = false;
        emit SealRotated(account, epoch, _sealAt[account][epoch - 1], newFingerprint);
    }

    /// @notice Revoke one of an organization's seal certificates (a reported compromise). A time
    /// already recorded may only be moved earlier. While the organization's current seal is
    /// revoked it cannot anchor (CurrentSealRevoked) until its seal is rotated; it can still
    /// change statuses, e.g. to revoke what the compromised seal sealed.
    /// @param account The organization's chain account.
    /// @param fingerprint SHA-256 of the revoked seal certificate, one registered for `account`.
    /// @param compromiseTime Unix time from which seals made with it are void (not zero).
    function revokeSeal(address account, bytes32 fingerprint, uint64 compromiseTime)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        Seal storage s = _seals[fingerprint];
        if (s.account == address(0) || s.account != account) revert SealNotOfOrganization(account, fingerprint);
        if (compromiseTime == 0) revert InvalidCompromiseTime();
        uint64 recorded = s.compromiseTime;
        if (recorded != 0 && compromiseTime >= recorded) revert SealAlreadyRevoked(fingerprint, recorded);
        s.compromiseTime = compromiseTime;
        Organization storage org = _orgs[account];
        if (s.epoch == org.sealEpoch) org.sealRevoked = true;
        emit SealRevoked(account, fingerprint, compromiseTime);
    }

    /// @notice Stop an organization from anchoring or changing statuses (revokes its kind's role,
    /// as `revokeRole` or its own `renounceRole` would; RoleRevoked records it). Its anchors stay.
    /// @param account The organization's chain account.
    function deactivateOrganization(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_revokeRole(_roleOf(_registered(account).kind), account)) revert OrganizationInactive(account);
    }

    /// @notice Allow a deactivated organization to write again (grants its kind's role back, as
    /// `grantRole` would; RoleGranted records it), unless another account of its credit code is active.
    /// @param account The organization's chain account.
    function reactivateOrganization(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_grantRole(_roleOf(_registered(account).kind), account)) revert OrganizationAlreadyActive(account);
    }

    /// @notice An organization's registration.
    /// @param account The organization's chain account.
    /// @return kind What it is (None when the account is not registered).
    /// @return active Whether it holds its kind's role, i.e. may anchor and change statuses.
    /// @return usccHash keccak256 of its unified social credit code.
    /// @return sealEpoch The epoch of its current seal (1 at registration, +1 per rotation).
    /// @return sealFingerprint SHA-256 of its current seal certificate (zero: no seal).
    /// @return sealRevoked Whether its current seal is revoked (it cannot anchor then).
    function organization(address account)
        external
        view
        returns (
            OrgKind kind,
            bool active,
            bytes32 usccHash,
            uint32 sealEpoch,
            bytes32 sealFingerprint,
            bool sealRevoked
        )
    {
        Organization memory org = _orgs[account];
        bytes32 fingerprint = _sealAt[account][org.sealEpoch];
        return (org.kind, org.active, _usccHashOf[account], org.sealEpoch, fingerprint, org.sealRevoked);
    }

    /// @notice The active account of a credit code.
    /// @param usccHash keccak256 of the unified social credit code.
    /// @return The account, or zero when none is active.
    function accountOf(bytes32 usccHash) external view returns (address) {
        return _activeAccount[usccHash];
    }

    /// @notice Every account ever registered for a credit code, oldest first; their anchors stay
    /// valid after an account is replaced, so a verifier looks for a root under each.
    /// @param usccHash keccak256 of the unified social credit code.
    /// @return The accounts.
    function accountsOf(bytes32 usccHash) external view returns (address[] memory) {
        return _accounts[usccHash];
    }

    /// @notice The fingerprint of an organization's seal of a given epoch.
    /// @param account The organization's chain account.
    /// @param epoch The seal epoch (1 = the seal registered with the organization).
    /// @return SHA-256 of that seal certificate (zero: none).
    function sealAt(address account, uint32 epoch) external view returns (bytes32) {
        return _sealAt[account][epoch];
    }

    /// @notice Whose seal a fingerprint is and whether it is revoked.
    /// @param fingerprint SHA-256 of a seal certificate (DER).
    /// @return account The organization it was registered for (zero: never registered).
    /// @return epoch Its seal epoch within that organization.
    /// @return compromiseTime Unix time from which seals made with it are void (0: not revoked).
    function seal(bytes32 fingerprint) external view returns (address account, uint32 epoch, uint64 compromiseTime) {
        Seal storage s = _seals[fingerprint];
        return (s.account, s.epoch, s.compromiseTime);
    }

    // ------------------------------------------------------------------ anchoring

    /// @notice Anchor a Merkle root of `leafCount` leaves under the caller's account, with the
    /// caller's current seal epoch. The caller can anchor a root only once; other accounts may
    /// anchor the same root under their own account without affecting it.
    /// @param root The batch's Merkle root (OpenZeppelin StandardMerkleTree format).
    /// @param leafCount How many leaves the batch holds.
    /// @param kind Certificates (departments), ReportSummaries (associations) or AccessLog (audit writer).
    function anchor(bytes32 root, uint32 leafCount, BatchKind kind) external {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch();
        Organization storage org = _orgs[msg.sender];
        (bool active, OrgKind orgKind, bool sealRevoked, uint32 sealEpoch) =
            (org.active, org.kind, org.sealRevoked, org.sealEpoch);
        if (!active) _refuseWriter();
        if (uint8(kind) != uint8(orgKind)) revert BatchKindNotAllowed(msg.sender, uint8(kind));
        if (sealRevoked) revert CurrentSealRevoked(msg.sender);
        Anchor storage a = _batches[msg.sender][root].anchor;
        if (a.leafCount != 0) revert RootAlreadyAnchored(msg.sender, root);
        // One SSTORE of the word as Solidity lays out `Anchor` (the compiler would write per member).
        uint256 word = uint256(leafCount) | uint256(uint8(kind)) << 32 | uint256(sealEpoch) << 40
            | uint256(uint40(block.number)) << 72 | uint256(uint40(block.timestamp)) << 112;
        assembly ("memory-safe") {
            sstore(a.slot, word)
        }
        emit Anchored(root, msg.sender, kind, leafCount);
    }

    /// @notice An anchor of `root` by `issuer`.
    /// @param issuer The anchoring account.
    /// @param root The Merkle root.
    /// @return leafCount The batch's leaf count (0: `issuer` never anchored `root`).
    /// @return kind What the batch holds.
    /// @return blockNumber The block that anchored it.
    /// @return timestamp That block's timestamp.
    /// @return sealEpoch The issuer's seal epoch then.
    /// @return sealFingerprint SHA-256 of the issuer's seal certificate current then (zero: no seal).
    function anchorOf(address issuer, bytes32 root)
        external
        view
        returns (
            uint32 leafCount,
            BatchKind kind,
            uint64 blockNumber,
            uint64 timestamp,
            uint32 sealEpoch,
            bytes32 sealFingerprint
        )
    {
        Anchor memory a = _batches[issuer][root].anchor;
        return (a.leafCount, a.kind, a.blockNumber, a.timestamp, a.sealEpoch, _sealAt[issuer][a.sealEpoch]);
    }

    // ------------------------------------------------------------------ status

    /// @notice Change the status of one leaf under the caller's anchor of `root`.
    /// @param root The leaf's Merkle root, anchored by the caller.
    /// @param leaf The leaf hash.
    /// @param status 1 (reinstate a suspended leaf), 2, 3, 4, 7 or 8 (from 1 or 2 only).
    /// @param reason A reason code recorded in the event.
    function setStatus(bytes32 root, bytes32 leaf, uint8 status, uint16 reason) external {
        if (!_orgs[msg.sender].active) _refuseWriter();
        _setStatus(_statusesOf(root), root, leaf, status, reason);
    }

    /// @notice Change the status of many leaves at once: `leaves[i]` are leaves under the caller's
    /// anchor of `roots[i]`. All or none change.
    /// @param roots The Merkle roots, each anchored by the caller.
    /// @param leaves For each root, its leaf hashes (none empty).
    /// @param status The new status for every leaf.
    /// @param reason A reason code recorded in the events.
    function setStatusMany(bytes32[] calldata roots, bytes32[][] calldata leaves, uint8 status, uint16 reason)
        external
    {
        if (roots.length != leaves.length) revert LengthMismatch(roots.length, leaves.length);
        if (roots.length == 0) revert EmptyBatch();
        if (!_orgs[msg.sender].active) _refuseWriter();
        for (uint256 i = 0; i < roots.length; ++i) {
            bytes32 root = roots[i];
            bytes32[] calldata group = leaves[i];
            if (group.length == 0) revert EmptyBatch();
            mapping(bytes32 => uint8) storage statuses = _statusesOf(root);
            for (uint256 j = 0; j < group.length; ++j) {
                _setStatus(statuses, root, group[j], status, reason);
            }
        }
    }

    /// @notice A leaf's status under `issuer`'s anchor of `root`.
    /// @param issuer The anchoring account.
    /// @param root The leaf's Merkle root.
    /// @param leaf The leaf hash.
    /// @return The status code: 0 when `issuer` never anchored `root`, else 1 (valid) unless changed.
    function statusOf(address issuer, bytes32 root, bytes32 leaf) public view returns (uint8) {
        Batch storage batch = _batches[issuer][root];
        if (batch.anchor.leafCount == 0) return STATUS_NONE;
        uint8 s = batch.statuses[leaf];
        return s == 0 ? STATUS_VALID : s;
    }

    /// @notice Everything a verifier needs about a leaf in one call.
    /// @param issuer The anchoring account (see `accountsOf`).
    /// @param root The Merkle root.
    /// @param leaf The leaf hash.
    /// @param proof The sibling hashes from leaf to root.
    /// @return included Whether `issuer` anchored `root` and the proof leads from `leaf` to it.
    /// @return kind What the batch holds (None: not anchored by `issuer`).
    /// @return blockNumber The anchoring block.
    /// @return timestamp The anchoring block's timestamp.
    /// @return sealFingerprint SHA-256 of the issuer's seal certificate current at anchoring.
    /// @return sealCompromiseTime That seal's compromise time (0: not revoked).
    /// @return status The leaf's status code (0 unless included).
    function verify(address issuer, bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (
            bool included,
            BatchKind kind,
            uint64 blockNumber,
            uint64 timestamp,
            bytes32 sealFingerprint,
            uint64 sealCompromiseTime,
            uint8 status
        )
    {
        Anchor memory a = _batches[issuer][root].anchor;
        if (a.leafCount != 0) {
            included = MerkleProof.verifyCalldata(proof, root, leaf);
            sealFingerprint = _sealAt[issuer][a.sealEpoch];
            sealCompromiseTime = _seals[sealFingerprint].compromiseTime;
            if (included) status = statusOf(issuer, root, leaf);
        }
        return (included, a.kind, a.blockNumber, a.timestamp, sealFingerprint, sealCompromiseTime, status);
    }

    // ------------------------------------------------------------------ roles

    /// @dev A writer role goes only to a registered organization of the matching kind, and only
    /// while no other account of its credit code is active; `active` follows the role.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        if (!_isWriterRole(role)) return super._grantRole(role, account);
        Organization storage org = _orgs[account];
        if (org.kind == OrgKind.None || _roleOf(org.kind) != role) revert RoleNotOfOrganizationKind(account, role);
        granted = super._grantRole(role, account);
        if (granted) {
            bytes32 usccHash = _usccHashOf[account];
            address holder = _activeAccount[usccHash];
            if (holder != address(0)) revert CreditCodeHasActiveAccount(usccHash, holder);
            _activeAccount[usccHash] = account;
            org.active = true;
        }
    }

    /// @dev Revoking or renouncing a writer role deactivates the organization.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && _isWriterRole(role)) {
            _orgs[account].active = false;
            delete _activeAccount[_usccHashOf[account]];
        }
    }

    // ------------------------------------------------------------------ internals

    function _registered(address account) private view returns (Organization storage org) {
        org = _orgs[account];
        if (org.kind == OrgKind.None) revert UnknownOrganization(account);
    }

    /// @dev Why the caller, whose organization is not active, may not write.
    function _refuseWriter() private view {
        if (_orgs[msg.sender].kind == OrgKind.None) revert UnknownOrganization(msg.sender);
        revert OrganizationInactive(msg.sender);
    }

    /// @dev The statuses under the caller's anchor of `root` (which must exist).
    function _statusesOf(bytes32 root) private view returns (mapping(bytes32 => uint8) storage) {
        Batch storage batch = _batches[msg.sender][root];
        if (batch.anchor.leafCount == 0) revert UnknownRoot(msg.sender, root);
        return batch.statuses;
    }

    function _addSeal(address account, uint32 epoch, bytes32 fingerprint) private {
        if (fingerprint == bytes32(0)) revert ZeroFingerprint();
        address owner = _seals[fingerprint].account;
        if (owner != address(0)) revert SealAlreadyRegistered(fingerprint, owner);
        _seals[fingerprint] = Seal(account, epoch, 0);
        _sealAt[account][epoch] = fingerprint;
    }

    function _setStatus(
        mapping(bytes32 => uint8) storage statuses,
        bytes32 root,
        bytes32 leaf,
        uint8 status,
        uint16 reason
    ) private {
        uint8 current = statuses[leaf];
        statuses[leaf] = status; // before the checks, which revert it if they fail: one slot lookup
        if ((WRITABLE_STATUSES >> status) & 1 == 0) revert InvalidStatus(status);
        if (current == 0) current = STATUS_VALID;
        // Only a valid or suspended leaf changes; a suspended one may become valid again.
        bool allowed = status == STATUS_VALID ? current == STATUS_SUSPENDED : current <= STATUS_SUSPENDED && status != current;
        if (!allowed) revert StatusTransitionNotAllowed(root, leaf, current, status);
        emit StatusChanged(msg.sender, root, leaf, status, reason);
    }

    function _isWriterRole(bytes32 role) private pure returns (bool) {
        return role == ISSUER_ROLE || role == ASSOCIATION_ROLE || role == AUDIT_WRITER_ROLE;
    }

    function _roleOf(OrgKind kind) private pure returns (bytes32) {
        if (kind == OrgKind.Department) return ISSUER_ROLE;
        if (kind == OrgKind.Association) return ASSOCIATION_ROLE;
        return AUDIT_WRITER_ROLE;
    }
}
