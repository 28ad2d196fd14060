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
{ 2000, "efb076319e4522e5a304199864861d11fe9d54acb734439d6efb0979ffbb743f" },
{ 5000, "ef12da4c89371f1bcadde42cd9d358bcfcb60b08eda67116edd82a0bdeed3de6" },
{ 10000, "74bafa678d8a2a7895b94cbc8546241195a89f87c40d39914d036f71457585b4" },
{ 20000, "95cd4966aa448a7b256e858c7dabb2300cba341d007d282547b7982618064419" },
{ 50000, "754cf2484b4d9a3b133e252c8aea245ecce4191332a74c8d3f0503753c6cbdc6" },
{ 100000, "4f9e66cce0bc2713933f0c576ce78942c2315e5ff5eeceedeb8b6db38bf2e8d6" },
