# The two commands a newcomer needs. Both set up what they need first.
.PHONY: demo test bench

## Build Earshot and run the demo (crawls a bundled demo site, then serves the API).
demo:
	scripts/demo.sh

## Run the whole test suite (starts the local Postgres if it is not running).
test:
	scripts/test.sh

## Benchmarks against named peers (see BENCHMARKS.md): ingest against Python's feedparser,
## sentiment against Python's onnxruntime, the API against nginx and on a million mentions
## (installs wrk and nginx with apt-get if missing; needs the local Postgres).
bench:
	benches/run-ingest.sh
	benches/run-sentiment.sh
	benches/run-api.sh
	benches/run-extract.sh
	benches/run-politeness.sh
	benches/run-scale.sh
