/*
 * ledger_steps.h: the schema steps sql/NNNN_*.sql, embedded in the binary
 * by sql/embed.awk (ledger_steps.c is generated), applied by ledger.c.
 */
#ifndef COOPMINE_LEDGER_STEPS_H
#define COOPMINE_LEDGER_STEPS_H

struct ledger_step {
	int version;		/* PRAGMA user_version after the step */
	const char *name;	/* file name, for messages */
	const char *sql;
};

extern const struct ledger_step ledger_steps[];
extern const int ledger_nsteps;

#endif
