import Foundation

extension StorageAPI {
    /// The OpenAPI 3 document of the node's REST API (PROTOCOL.md §6.1), at `GET /v1/api`: what
    /// operators read, and what schemathesis (scripts/schemathesis) generates hostile requests from.
    static let openAPI: [UInt8] = {
        let error: [String: Any] = [
            "description": "An error: {\"error\":{\"code\",\"status\",\"message\",\"details\":[{\"reason\",\"domain\"}]}}",
            "content": ["application/json": ["schema": ["type": "object"]]],
        ]
        let success: [String: Any] = ["description": "{\"success\":{\"code\",\"data\"}}", "content": ["application/json": ["schema": ["type": "object"]]]]
        let binary: [String: Any] = ["description": "BCS bytes", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
        let body: [String: Any] = ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
        func path(_ name: String, _ description: String) -> [String: Any] {
            ["name": name, "in": "path", "required": true, "description": description, "schema": ["type": "string"]]
        }
        let blobID = path("blob_id", "The blob ID: 43 characters of URL-safe base64 without padding.")
        let pair: [String: Any] = ["name": "sliver_pair_index", "in": "path", "required": true, "schema": ["type": "integer", "minimum": 0, "maximum": 65535]]
        let axis: [String: Any] = ["name": "sliver_type", "in": "path", "required": true, "schema": ["type": "string", "enum": ["primary", "secondary"]]]
        func operation(_ summary: String, _ parameters: [[String: Any]], _ responses: [String: Any], requestBody: [String: Any]? = nil) -> [String: Any] {
            var operation: [String: Any] = ["summary": summary, "parameters": parameters, "responses": responses]
            if let requestBody { operation["requestBody"] = requestBody }
            return operation
        }
        let errors: [String: Any] = ["400": error, "404": error, "413": error, "503": error]
        func merged(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] { a.merging(b) { first, _ in first } }
        let paths: [String: Any] = [
            "/v1/health": ["get": operation("The node's health: epoch, shards, event progress", [], ["200": success])],
            "/v1/blobs/{blob_id}/status": ["get": operation("The blob's status as this node knows it", [blobID], merged(["200": success], errors))],
            "/v1/blobs/{blob_id}/metadata": [
                "get": operation("The blob's metadata with its ID (BCS)", [blobID], merged(["200": binary], errors)),
                "put": operation("Store the blob's metadata (BCS), once the blob is registered", [blobID], merged(["200": success, "201": success, "507": error], errors), requestBody: body),
            ],
            "/v1/blobs/{blob_id}/metadata/status": ["get": operation("Whether the metadata is stored", [blobID], merged(["200": success], errors))],
            "/v1/blobs/{blob_id}/slivers/{sliver_pair_index}/{sliver_type}": [
                "get": operation("A sliver this node holds (BCS)", [blobID, pair, axis], merged(["200": binary], errors)),
                "put": operation("Store a sliver (BCS), checked against the metadata", [blobID, pair, axis], merged(["200": success, "201": success, "507": error], errors), requestBody: body),
            ],
            "/v1/blobs/{blob_id}/slivers/{sliver_pair_index}/{sliver_type}/status": [
                "get": operation("Whether the sliver is stored", [blobID, pair, axis], merged(["200": success], errors)),
            ],
            "/v1/blobs/{blob_id}/confirmation/permanent": ["get": operation(
                "A signed storage confirmation for a permanent registration",
                [blobID, ["name": "wait_for_registration", "in": "query", "schema": ["type": "boolean"]],
                 ["name": "wait_millis", "in": "query", "schema": ["type": "integer", "minimum": 0, "maximum": 10000]]],
                merged(["200": success], errors))],
            "/v1/blobs/{blob_id}/confirmation/deletable/{object_id}": ["get": operation(
                "A signed storage confirmation for a deletable registration", [blobID, path("object_id", "0x and 64 hex digits")], merged(["200": success], errors))],
            "/v1/blobs/{blob_id}/recoverySymbols": ["get": operation(
                "Recovery symbols with Merkle proofs for the targets, from every sliver of the other axis this node holds (BCS)",
                [blobID, ["name": "targetSliver", "in": "query", "schema": ["type": "integer", "minimum": 0]],
                 ["name": "targetSlivers", "in": "query", "schema": ["type": "string"], "description": "Comma-separated target indices, each counted once."],
                 ["name": "targetType", "in": "query", "required": true, "schema": ["type": "string", "enum": ["primary", "secondary"]]]],
                merged(["200": binary], errors))],
            "/v1/blobs/{blob_id}/inconsistencyProof/{sliver_type}": ["post": operation(
                "Check an inconsistency proof (BCS) and sign the blob's invalidity", [blobID, axis], merged(["200": success], errors), requestBody: body)],
            "/v1/migrate/sync_shard": ["post": operation(
                "Slivers of a shard for its new owner (a signed SyncShardRequest in BCS; the requester's key in Authorization)",
                [["name": "Authorization", "in": "header", "required": true, "schema": ["type": "string"]]],
                merged(["200": binary, "401": error, "403": error], errors), requestBody: body)],
        ]
        let document: [String: Any] = ["openapi": "3.0.3", "info": ["title": "walrus-swift storage node", "version": "1"], "paths": paths]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) } ?? []
    }()
}
