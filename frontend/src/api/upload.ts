import { ApiError, csrfHeaders } from "./client";

export interface UploadHandle<T> {
  promise: Promise<T>;
  abort: () => void;
}

/**
 * Posts one multipart form with XMLHttpRequest, because fetch has no upload
 * progress. `onProgress` receives a fraction in [0, 1].
 */
export function uploadForm<T>(url: string, form: FormData, onProgress: (fraction: number) => void): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<T>((resolve, reject) => {
    xhr.open("POST", url);
    xhr.withCredentials = false; // same-origin requests always carry the session cookie
    xhr.setRequestHeader("Accept", "application/json");
    for (const [key, value] of Object.entries(csrfHeaders("POST"))) xhr.setRequestHeader(key, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let data: unknown;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = xhr.responseText;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(data as T);
      } else {
        reject(new ApiError(xhr.status, data));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: "Network error: the upload did not reach the server." }));
    xhr.onabort = () => reject(new ApiError(0, { detail: "Upload cancelled." }));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
