// What the database refused, in the store's terms: the rules above the store
// decide what each means to a client (intent-service.ts: a 409).

/** A unique constraint refused a write: another row holds the value (a concurrent writer got past the checks). */
export class UniqueViolation extends Error {
  constructor(
    /** The constraint is the primary key: the id is taken. */
    readonly onId: boolean,
    /** The database's words, naming the constraint's fields. */
    readonly detail: string,
  ) {
    super(`unique constraint violated (${detail})`);
    this.name = 'UniqueViolation';
  }
}

/** A foreign key refused a write: a referenced row went, or a referring one came, meanwhile. */
export class ReferenceViolation extends Error {
  constructor(readonly detail: string) {
    super(`foreign key violated (${detail})`);
    this.name = 'ReferenceViolation';
  }
}
