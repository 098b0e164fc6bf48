-- 0005_gateway_requests.sql - answers to the writes the gateway does itself.
--
-- The gateway handles a few writes without a service (POST and DELETE
-- /api/v1/tokens).  Each takes a client-chosen request_id; the first answer
-- is kept here so the same request_id again gets it back and changes
-- nothing.  A created token's text is never stored: a repeated create
-- answers the same id with "token": null.  route is "METHOD PATH"; a
-- request_id reused for another route answers 409.
CREATE TABLE gateway_requests (
    request_id  text PRIMARY KEY CHECK (length(request_id) BETWEEN 1 AND 64),
    route       text NOT NULL,
    status      int NOT NULL,
    response    jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
