import Foundation
import HTTPKit
import RedStuff
import WalrusAPI
import WalrusClient
import WalrusCore

/// Walrus's quilt routes: `PUT /v1/quilts` (multipart), `GET /v1/blobs/by-quilt-patch-id/{id}`,
/// `GET /v1/blobs/by-quilt-id/{quilt}/{identifier}` and `GET /v1/quilts/{quilt}/patches`.
extension Gateway {
    /// The multipart field that carries the patches' tags (`[{"identifier", "tags"}]`).
    static let quiltMetadataField = "_metadata"

    /// The answer to a quilt route, or nil when the path is not one.
    func quiltRoute(_ request: HTTPRequest, _ parts: [String]) async -> HTTPResponse? {
        let read = request.method == .GET || request.method == .HEAD
        switch (read, parts.count) {
        case (false, 2) where parts[1] == "quilts" && request.method == .PUT:
            guard options.publisher else { return Gateway.fail(.notFound, "NOT_FOUND", "this gateway does not store blobs (it runs as an aggregator only)") }
            return await storeQuilt(request)
        case (true, 4) where parts[1] == "quilts" && parts[3] == "patches":
            guard options.aggregator else { return Gateway.fail(.notFound, "NOT_FOUND", "this gateway does not serve blobs (it runs as a publisher only)") }
            return await listPatches(parts[2])
        case (true, 4) where parts[2] == "by-quilt-patch-id":
            guard options.aggregator else { return Gateway.fail(.notFound, "NOT_FOUND", "this gateway does not serve blobs (it runs as a publisher only)") }
            guard let id = try? QuiltPatchID(parsing: parts[3]) else {
                return Gateway.fail(.invalidArgument, "INVALID_QUILT_PATCH_ID", "not a quilt patch ID: \(parts[3].prefix(64)) (50 characters of URL-safe base64)")
            }
            return await readPatch(request, quiltID: id.quiltID) { (client) async throws(ClientError) in try await client.readQuiltPatches([id]) }
        case (true, 5) where parts[2] == "by-quilt-id":
            guard options.aggregator else { return Gateway.fail(.notFound, "NOT_FOUND", "this gateway does not serve blobs (it runs as a publisher only)") }
            guard let quiltID = try? BlobID(parsing: parts[3]) else {
                return Gateway.fail(.invalidArgument, "INVALID_BLOB_ID", "not a quilt ID: \(parts[3].prefix(64)) (43 characters of URL-safe base64)")
            }
            guard let identifier = parts[4].removingPercentEncoding else {
                return Gateway.fail(.invalidArgument, "MALFORMED_REQUEST", "the identifier is not valid percent-encoded UTF-8")
            }
            return await readPatch(request, quiltID: quiltID) { (client) async throws(ClientError) in try await client.readQuilt(quiltID, .identifiers([identifier])) }
        default:
            return nil
        }
    }

    /// One patch with Walrus's headers: the blob headers with the quilt ID as ETag, the
    /// identifier in `X-Quilt-Patch-Identifier`, and the tags the gateway allows as headers.
    private func readPatch(
        _ request: HTTPRequest, quiltID: BlobID, _ fetch: @Sendable (WalrusClient) async throws(ClientError) -> [QuiltFile]
    ) async -> HTTPResponse {
        if let refusal = Gateway.unknownParameter(request.query, allowed: []) { return refusal }
        var (contentType, headers) = Gateway.blobHeaders(request, etag: quiltID.description)
        guard reads.enter(max: options.readsMax) else { return busy() }
        defer { reads.leave() }
        let file: QuiltFile
        do {
            guard let first = try await fetch(client).first else {
                return Gateway.fail(.notFound, "QUILT_PATCH_NOT_FOUND", "the quilt has no such patch")
            }
            file = first
        } catch {
            if error.code == .notFound, error.message.contains("no patch") || error.message.contains("past the end") {
                return Gateway.fail(.notFound, "QUILT_PATCH_NOT_FOUND", error.message)
            }
            return Gateway.readError(error)
        }
        let attribute = BlobAttribute(file.tags.map { ($0.key, $0.value) })
        let fromTags = Gateway.attributeHeaders(attribute, allowed: options.allowedHeaders, request: request)
        if let type = fromTags.first(where: { $0.0 == "content-type" }) { contentType = type.1 }
        headers += fromTags.filter { $0.0 != "content-type" }
        // An identifier that cannot be a header value (control characters) is left out.
        if file.identifier.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7f) }) {
            headers.append(("x-quilt-patch-identifier", file.identifier))
        }
        if let cached = Gateway.notModified(request, contentType: contentType, headers: headers) { return cached }
        var response = HTTPResponse(status: .ok, contentType: contentType, body: request.method == .HEAD ? [] : file.data)
        response.headers += headers
        response.contentLength = file.data.count
        return response
    }

    /// Walrus's `QuiltPatchItem` list: identifier, patch ID and tags of every patch.
    private func listPatches(_ text: String) async -> HTTPResponse {
        guard let quiltID = try? BlobID(parsing: text) else {
            return Gateway.fail(.invalidArgument, "INVALID_BLOB_ID", "not a quilt ID: \(text.prefix(64)) (43 characters of URL-safe base64)")
        }
        guard reads.enter(max: options.readsMax) else { return busy() }
        defer { reads.leave() }
        let index: QuiltIndex
        do { index = try await client.quiltIndex(quiltID) } catch { return Gateway.readError(error) }
        let items = index.items(quiltID: quiltID)
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(items))
    }

    /// `PUT /v1/quilts`: each file field is a patch named by its field name; `_metadata` gives
    /// tags. The store takes the publisher's query parameters.
    private func storeQuilt(_ request: HTTPRequest) async -> HTTPResponse {
        guard authorized(request.headers["authorization"]) else { return Gateway.unauthorized() }
        let asked: StoreRequest
        switch Gateway.storeRequest(request.query, defaultEpochs: options.defaultEpochs) {
        case .success(let value): asked = value
        case .failure(let refusal): return refusal.response
        }
        let files: [QuiltFile]
        switch Gateway.quiltFiles(request) {
        case .success(let value): files = value
        case .failure(let refusal): return refusal.response
        }
        let result: QuiltStoreResult
        do {
            result = try await client.storeQuilt(files, epochs: asked.epochs, permanent: asked.permanent, force: asked.force, sendTo: asked.sendTo, share: asked.share)
        } catch {
            return Gateway.storeError(error)
        }
        if case .markedInvalid = result.blobStoreResult {
            return Gateway.fail(.internalError, "INTERNAL", "the quilt was marked invalid, which is likely a system error, please report it")
        }
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(result))
    }

    /// The files of a quilt upload, or the 400 that refuses it.
    static func quiltFiles(_ request: HTTPRequest) -> Result<[QuiltFile], Refusal> {
        func malformed(_ message: String) -> Result<[QuiltFile], Refusal> {
            .failure(Refusal(fail(.invalidArgument, "MALFORMED_REQUEST", message)))
        }
        guard let type = request.headers["content-type"], let boundary = Multipart.boundary(contentType: type) else {
            return malformed("a quilt is uploaded as multipart/form-data (curl -F 'name=@file'); the Content-Type has no boundary")
        }
        let parts: [MultipartPart]
        do { parts = try Multipart.parse(request.body, boundary: boundary, partsMax: Int(Limits.shardCountMax) + 1) } catch {
            return malformed("failed to parse multipart form: \(error)")
        }
        var tagsByIdentifier: [String: [QuiltTag]] = [:]
        var fileParts: [MultipartPart] = []
        for part in parts {
            if part.name == quiltMetadataField {
                guard let entries = try? JSONSerialization.jsonObject(with: Data(part.body)) as? [[String: Any]] else {
                    return malformed("_metadata must be a JSON array of {\"identifier\": …, \"tags\": {…}}")
                }
                for entry in entries {
                    guard let identifier = entry["identifier"] as? String else { return malformed("each _metadata entry needs an \"identifier\"") }
                    guard tagsByIdentifier[identifier] == nil else { return malformed("duplicate identifiers found in _metadata: '\(identifier.prefix(64))'") }
                    var tags: [QuiltTag] = []
                    if let given = entry["tags"] {
                        guard let object = given as? [String: Any] else { return malformed("the tags of '\(identifier.prefix(64))' must be a JSON object") }
                        for (key, value) in object {
                            // As Walrus: a string as it is, any other JSON value as its JSON text.
                            let text: String
                            if let string = value as? String {
                                text = string
                            } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
                                text = String(decoding: data, as: UTF8.self)
                            } else {
                                return malformed("tag '\(key.prefix(64))' has a value that is not JSON")
                            }
                            tags.append(QuiltTag(key: key, value: text))
                        }
                    }
                    tagsByIdentifier[identifier] = tags
                }
            } else if part.name.hasPrefix("_") {
                return malformed("field '\(part.name.prefix(64))': identifiers cannot start with '_' (reserved for Walrus-native fields such as _metadata)")
            } else {
                fileParts.append(part)
            }
        }
        guard !fileParts.isEmpty else { return malformed("no files provided in multipart form") }
        var files: [QuiltFile] = []
        var seen = Set<[UInt8]>()
        for part in fileParts {
            guard seen.insert(Array(part.name.utf8)).inserted else {
                return malformed("field '\(part.name.prefix(64))' is given twice; identifiers in a quilt must be distinct")
            }
            do { files.append(try QuiltFile(identifier: part.name, tags: tagsByIdentifier[part.name] ?? [], data: Array(part.body))) } catch {
                return malformed("field '\(part.name.prefix(64))': \(error.message)")
            }
        }
        return .success(files)
    }
}
