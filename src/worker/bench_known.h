/*
 * bench_known.h: checksums of `coopmine-worker --bench N` (included by
 * bench.c).  Computed by bench/bench_worker_ref (librandomx called
 * directly, none of our code): "bench_worker_ref 100000 2 full auto
 * 100,1000,..." for all of them, and in light mode for 100 and 1000, which
 * gave the same values.  N=1 is the pow_hash_raw of OpenSY regtest block 1.
 */
{ 1, "39ef085d757ca79179597d23878efd088c04833928028fa61394d4942b34254e" },
{ 100, "095fb9a5cfbc3e4781ca9de6ba0f6a222c720d2ed9633d7008def5623aa4502e" },
{ 1000, "2c960f40a10b1d8633b2c4d102fc96b99773f468b5bb330209dbe67a9329cd22" },
