// Reads one uploaded file into memory, refusing (never truncating) one over the size limit.
import { GraphQLError } from 'graphql';
import type { FileUpload } from 'graphql-upload-minimal';

export interface UploadedFile {
  bytes: Buffer;
  fileName: string | null;
}

function tooLarge(maxBytes: number, fileName: string | null): GraphQLError {
  const what = fileName ? `"${fileName}"` : 'the file';
  return new GraphQLError(`${what} is larger than the upload limit of ${maxBytes} bytes`, { extensions: { code: 'PAYLOAD_TOO_LARGE', maxBytes } });
}

/** An upload error raised by the multipart parser (it carries an HTTP status), as a coded GraphQL error. */
export function uploadFailure(error: unknown, maxBytes: number, fileName: string | null): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const status = (error as { status?: unknown }).status;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 413) return tooLarge(maxBytes, fileName);
  if (typeof status === 'number' && status >= 400 && status < 500) return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } });
  return new GraphQLError(`the upload could not be read: ${message}`, { extensions: { code: 'BAD_REQUEST' } });
}

/**
 * The parser is configured with the same limit and stops a file at it, but only signals that by a
 * `limit` event and `truncated` on the stream (graphql-upload-minimal issue #51): both are checked,
 * and the bytes are counted as well, so a cut-off file is never classified.
 */
export async function readUpload(upload: Promise<FileUpload> | FileUpload, maxBytes: number): Promise<UploadedFile> {
  let file: FileUpload;
  try {
    file = await upload;
  } catch (error) {
    throw uploadFailure(error, maxBytes, null);
  }
  const fileName = file.filename || null;
  try {
    const stream = file.createReadStream() as NodeJS.ReadableStream & { truncated?: boolean };
    let limited = false;
    stream.once('limit', () => {
      limited = true;
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += buffer.length;
      if (size > maxBytes) limited = true;
      else chunks.push(buffer);
    }
    if (limited || stream.truncated) throw tooLarge(maxBytes, fileName);
    return { bytes: Buffer.concat(chunks, size), fileName };
  } catch (error) {
    throw uploadFailure(error, maxBytes, fileName);
  }
}
