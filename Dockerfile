FROM python:3.11-slim

WORKDIR /srv
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --no-create-home segments \
    && mkdir -p /var/lib/segments && chown segments /var/lib/segments
USER segments

ENV SEGMENTS_HOST=0.0.0.0 SEGMENTS_PORT=8000 SEGMENTS_ENV=production
EXPOSE 8000
CMD ["segments", "serve"]
