import { saveNote } from "./actions";

export default function Notes() {
  return (
    <main>
      <h1>Notes</h1>
      <form action={saveNote}>
        <input name="note" aria-label="note" />
        <button type="submit">Save</button>
      </form>
    </main>
  );
}
