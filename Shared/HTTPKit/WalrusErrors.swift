import NIOHTTP1
public import WalrusAPI

extension HTTPResponse {
    /// Walrus's AIP-193 error body, with the HTTP status its class goes with.
    public static func walrus(_ body: APIErrorBody) -> HTTPResponse {
        HTTPResponse(status: HTTPResponseStatus(statusCode: body.httpCode), contentType: "application/json", body: WalrusJSON.encode(body))
    }

    /// Walrus's error body for the server's own refusals (rate limits, overload) of a service in
    /// `domain`: the status class that goes with the HTTP status, or INTERNAL.
    public static func walrusErrors(domain: String) -> HTTPErrorBuilder {
        { status, reason, message, _ in
            let code = APIStatusCode.allCases.first { $0.httpCode == Int(status.code) && $0 != .failedPrecondition && $0 != .sizeExceeded } ?? .internalError
            return .walrus(APIErrorBody(code, reason: reason, domain: domain, message))
        }
    }
}
