# Phone voice-agent bridge: the compiled binary in a distroless image.
#
#   docker build -t phone-bridge .
#   docker run --rm -p 5050:5050 --env-file .env -v phone-bridge-data:/data phone-bridge
#
# Stage 1 compiles main.ts with `deno compile` (same flags as `deno task compile`,
# including the V8 young-generation size, see docs/performance.md).
# Stage 2 is distroless (glibc, no shell, no package manager) and runs as the
# unprivileged user 65532. The entry is exec-form, so the binary is PID 1 and
# receives SIGTERM itself: `docker stop` starts the drain (DRAIN_SECONDS,
# default 30 s) — give it time with `docker stop -t 45` / `stop_grace_period: 45s`.
# Call records go to /data/calls.kv on a volume. The agents file of the build
# context (agents.yaml, optional) is built in as /app/agents.yaml; mount a
# directory and set AGENTS_FILE to edit it live, `docker kill -s HUP` reloads
# (docs/deployment.md#docker). The health check is the
# binary itself (`--healthcheck` fetches http://127.0.0.1:$PORT/healthz):
# distroless has no curl and no shell.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /src
# Dependencies first (cached while only sources change), exactly as locked.
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src ./src
RUN deno install --frozen --entrypoint main.ts
RUN deno compile --frozen --v8-flags=--max-semi-space-size=4 --unstable-kv \
      --allow-net --allow-env --allow-read --allow-write --allow-sys=hostname \
      --output /out/app/phone-bridge main.ts \
 && mkdir -p /out/data
# The agents file, when the build context has one (`agents.yam[l]` matches it or
# nothing; deno.json keeps the COPY valid without it). Copied after the compile,
# so editing it rebuilds only this layer.
COPY deno.json agents.yam[l] /out/context/
RUN if [ -f /out/context/agents.yaml ]; then cp /out/context/agents.yaml /out/app/; fi

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/app /app
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# agents.yaml (the default AGENTS_FILE) is read from here: the one built in, if any.
WORKDIR /app
ENV HOST=0.0.0.0 \
    PORT=5050 \
    CALL_STORE_PATH=/data/calls.kv \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 5050
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/app/phone-bridge", "--healthcheck"]
ENTRYPOINT ["/app/phone-bridge"]
