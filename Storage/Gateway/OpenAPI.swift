import Foundation

extension Gateway {
    /// The OpenAPI 3 document of the routes this gateway serves, at `GET /v1/api`.
    static func openAPI(_ options: Options) -> String {
        var paths: [String: Any] = [:]
        let error: [String: Any] = ["description": "Walrus's error body: {\"error\":{\"code\",\"status\",\"message\",\"details\":[ErrorInfo]}}",
                                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Status"]]]]
        let blobID: [String: Any] = ["name": "blob_id", "in": "path", "required": true,
                                     "description": "The blob ID: 43 characters of URL-safe base64 without padding.", "schema": ["type": "string"]]
        let readOptions: [[String: Any]] = [
            ["name": "strict_consistency_check", "in": "query", "schema": ["type": "boolean"], "description": "Re-encode the blob and compare blob IDs."],
            ["name": "skip_consistency_check", "in": "query", "schema": ["type": "boolean"], "description": "Skip the consistency check (trusted writers only)."],
        ]
        let bytes: [String: Any] = ["description": "The blob's bytes (ETag: the blob ID; Cache-Control: public, max-age=86400, stale-while-revalidate=3600).",
                                    "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
        if options.aggregator {
            paths["/v1/blobs/{blob_id}"] = ["get": [
                "summary": "Read a blob",
                "parameters": [blobID] + readOptions + [
                    ["name": "Range", "in": "header", "schema": ["type": "string"], "description": "One range: bytes=a-b, bytes=a- or bytes=-n."],
                ],
                "responses": [
                    "200": bytes, "206": ["description": "The requested range of the blob."], "304": ["description": "Not modified (If-None-Match matched the ETag)."],
                    "400": error, "404": error, "416": error, "429": error, "500": error, "503": error,
                ] as [String: Any],
            ] as [String: Any]]
            paths["/v1/blobs/by-object-id/{blob_object_id}"] = ["get": [
                "summary": "Read the blob a Blob object registers",
                "parameters": [["name": "blob_object_id", "in": "path", "required": true, "description": "0x and 64 hex digits.", "schema": ["type": "string"]]] + readOptions,
                "responses": ["200": bytes, "400": error, "404": error, "429": error, "500": error, "503": error] as [String: Any],
            ] as [String: Any]]
            paths["/v1/blobs/{blob_id}/byte-range"] = ["get": [
                "summary": "Read length bytes of a blob from start (200, cacheable; ETag: blob_id-start-length)",
                "parameters": [
                    blobID,
                    ["name": "start", "in": "query", "required": true, "schema": ["type": "integer", "format": "int64", "minimum": 0]],
                    ["name": "length", "in": "query", "required": true, "schema": ["type": "integer", "format": "int64", "minimum": 1]],
                ],
                "responses": ["200": bytes, "400": error, "404": error, "429": error, "500": error, "503": error] as [String: Any],
            ] as [String: Any]]
            let patch: [String: Any] = ["description": "The patch's bytes; X-Quilt-Patch-Identifier names it, the ETag is the quilt ID, allowed tags are headers.", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
            paths["/v1/blobs/by-quilt-patch-id/{quilt_patch_id}"] = ["get": [
                "summary": "Read one file of a quilt by its patch ID (only its columns' slivers are fetched)",
                "parameters": [["name": "quilt_patch_id", "in": "path", "required": true, "description": "50 characters of URL-safe base64.", "schema": ["type": "string"]]],
                "responses": ["200": patch, "400": error, "404": error, "429": error, "500": error, "503": error] as [String: Any],
            ] as [String: Any]]
            paths["/v1/blobs/by-quilt-id/{quilt_id}/{identifier}"] = ["get": [
                "summary": "Read one file of a quilt by its identifier",
                "parameters": [
                    ["name": "quilt_id", "in": "path", "required": true, "description": "The quilt's blob ID.", "schema": ["type": "string"]],
                    ["name": "identifier", "in": "path", "required": true, "description": "The patch identifier (percent-encoded).", "schema": ["type": "string"]],
                ],
                "responses": ["200": patch, "400": error, "404": error, "429": error, "500": error, "503": error] as [String: Any],
            ] as [String: Any]]
            paths["/v1/quilts/{quilt_id}/patches"] = ["get": [
                "summary": "List a quilt's patches: identifier, patch_id and tags of each",
                "parameters": [["name": "quilt_id", "in": "path", "required": true, "description": "The quilt's blob ID.", "schema": ["type": "string"]]],
                "responses": ["200": ["description": "A JSON array of QuiltPatchItem.", "content": ["application/json": ["schema": ["type": "array"]]]], "400": error, "404": error, "429": error, "500": error, "503": error] as [String: Any],
            ] as [String: Any]]
        }
        if options.publisher {
            paths["/v1/quilts"] = ["put": [
                "summary": "Store the files of a multipart/form-data body as one quilt (field name = identifier; _metadata = [{identifier, tags}])",
                "parameters": [
                    ["name": "epochs", "in": "query", "schema": ["type": "integer", "minimum": 1, "default": Int(options.defaultEpochs)]],
                    ["name": "permanent", "in": "query", "schema": ["type": "boolean"]],
                    ["name": "deletable", "in": "query", "schema": ["type": "boolean"]],
                    ["name": "force", "in": "query", "schema": ["type": "boolean"]],
                    ["name": "send_object_to", "in": "query", "schema": ["type": "string"]],
                    ["name": "encoding_type", "in": "query", "schema": ["type": "string", "enum": ["RS2"]]],
                    ["name": "quilt_version", "in": "query", "schema": ["type": "string", "enum": ["v1", "V1", "1"]]],
                    ["name": "share", "in": "query", "schema": ["type": "boolean"]],
                ],
                "requestBody": ["required": true, "content": ["multipart/form-data": ["schema": ["type": "object", "maxLength": options.maxQuiltBodyBytes]]]],
                "responses": [
                    "200": ["description": "Walrus's QuiltStoreResult: blobStoreResult and storedQuiltBlobs [{identifier, quiltPatchId}].", "content": ["application/json": ["schema": ["type": "object"]]]],
                    "400": error, "401": error, "413": ["description": "The body is over the publisher's quilt limit (text)."], "500": error, "503": error, "504": error,
                ] as [String: Any],
            ] as [String: Any]]
            paths["/v1/blobs"] = ["put": [
                "summary": "Store the request body as a blob",
                "parameters": [
                    ["name": "epochs", "in": "query", "schema": ["type": "integer", "minimum": 1, "default": Int(options.defaultEpochs)]],
                    ["name": "permanent", "in": "query", "schema": ["type": "boolean"]],
                    ["name": "deletable", "in": "query", "schema": ["type": "boolean"], "description": "The default."],
                    ["name": "force", "in": "query", "schema": ["type": "boolean"], "description": "Store even when already certified."],
                    ["name": "send_object_to", "in": "query", "schema": ["type": "string"], "description": "Give the new Blob object to this address (0x and 64 hex digits)."],
                    ["name": "encoding_type", "in": "query", "schema": ["type": "string", "enum": ["RS2"]]],
                    ["name": "quilt_version", "in": "query", "schema": ["type": "string", "enum": ["v1", "V1", "1"]], "description": "Accepted for Walrus clients; blobs ignore it."],
                    ["name": "share", "in": "query", "schema": ["type": "boolean"], "description": "Make the new blob a shared blob (permanent; not with send_object_to)."],
                ],
                "requestBody": ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary", "maxLength": options.maxBodyBytes]]]],
                "responses": [
                    "200": ["description": "Walrus's BlobStoreResult: newlyCreated or alreadyCertified.", "content": ["application/json": ["schema": ["type": "object"]]]],
                    "400": error, "401": error, "413": ["description": "The body is over the publisher's limit (text)."], "500": error, "503": error, "504": error,
                ] as [String: Any],
            ] as [String: Any]]
        }
        paths["/status"] = ["get": ["summary": "The service is running", "responses": ["200": ["description": "OK (text)"]]]]
        paths["/v1/health"] = ["get": ["summary": "Liveness of the gateway process", "responses": ["200": ["description": "JSON"]]]]
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": ["title": "walrus-swift gateway", "version": "1"],
            "paths": paths,
            "components": ["schemas": ["Status": [
                "type": "object",
                "properties": ["error": ["type": "object", "properties": [
                    "code": ["type": "integer"], "status": ["type": "string"], "message": ["type": "string"],
                    "details": ["type": "array", "items": ["type": "object", "properties": [
                        "@type": ["type": "string"], "reason": ["type": "string"], "domain": ["type": "string"], "metadata": ["type": "object"],
                    ]]],
                ]]],
            ]]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
