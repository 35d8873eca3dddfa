import Foundation

extension Gateway {
    /// The OpenAPI 3 document of the routes this gateway serves, at `GET /v1/api`.
    static func openAPI(_ options: Options) -> String {
        var paths: [String: Any] = [:]
        let error: [String: Any] = ["description": "An error: {\"error\":{\"code\",\"message\",\"retryable\"}}",
                                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        let blobID: [String: Any] = ["name": "blob_id", "in": "path", "required": true,
                                     "description": "The blob ID: 43 characters of URL-safe base64 without padding.", "schema": ["type": "string"]]
        if options.aggregator {
            paths["/v1/blobs/{blob_id}"] = ["get": [
                "summary": "Read a blob",
                "parameters": [
                    blobID,
                    ["name": "strict_consistency_check", "in": "query", "schema": ["type": "boolean"], "description": "Re-encode the blob and compare blob IDs."],
                    ["name": "skip_consistency_check", "in": "query", "schema": ["type": "boolean"], "description": "Skip the consistency check (trusted writers only)."],
                    ["name": "Range", "in": "header", "schema": ["type": "string"], "description": "One range: bytes=a-b, bytes=a- or bytes=-n."],
                ],
                "responses": [
                    "200": ["description": "The blob's bytes.", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
                    "206": ["description": "The requested range of the blob."],
                    "304": ["description": "Not modified (If-None-Match matched the ETag)."],
                    "400": error, "404": error, "416": error, "503": error,
                ] as [String: Any],
            ] as [String: Any]]
        }
        if options.publisher {
            paths["/v1/blobs"] = ["put": [
                "summary": "Store the request body as a blob",
                "parameters": [
                    ["name": "epochs", "in": "query", "schema": ["type": "integer", "minimum": 1, "default": Int(options.defaultEpochs)]],
                    ["name": "permanent", "in": "query", "schema": ["type": "boolean"]],
                    ["name": "deletable", "in": "query", "schema": ["type": "boolean"], "description": "The default."],
                    ["name": "force", "in": "query", "schema": ["type": "boolean"], "description": "Store even when already certified."],
                ],
                "requestBody": ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary", "maxLength": options.maxBodyBytes]]]],
                "responses": [
                    "200": ["description": "newlyCreated or alreadyCertified.", "content": ["application/json": ["schema": ["type": "object"]]]],
                    "400": error, "401": error, "402": error, "413": error, "503": error,
                ] as [String: Any],
            ] as [String: Any]]
        }
        paths["/status"] = ["get": ["summary": "What this gateway serves", "responses": ["200": ["description": "JSON"]]]]
        paths["/v1/health"] = ["get": ["summary": "Liveness of the gateway process", "responses": ["200": ["description": "JSON"]]]]
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": ["title": "walrus-swift gateway", "version": "1"],
            "paths": paths,
            "components": ["schemas": ["Error": [
                "type": "object",
                "properties": ["error": ["type": "object", "properties": [
                    "code": ["type": "string"], "message": ["type": "string"], "retryable": ["type": "boolean"],
                ]]],
            ]]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
