"use server";

// A server action: Next posts it to /notes with a Next-Action header, so a kill switch on
// POST /notes contains it like any other route.
export async function saveNote(form: FormData): Promise<void> {
  console.log(`note saved (${String(form.get("note") ?? "").length} chars)`);
}
